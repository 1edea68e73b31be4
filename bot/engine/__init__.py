"""The engine both front ends share: documents in, cited answers out; no Discord, no click."""
