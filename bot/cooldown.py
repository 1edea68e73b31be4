"""A per-user cooldown: at most N questions in a sliding window of S seconds."""

from __future__ import annotations

import time
from collections import deque


class Cooldown:
    """Counts each user's recent questions; one instance is shared by every way of asking.

    discord.py's own `Cooldown` treats a clock reading of 0.0 as "no time given"; this one only
    needs `time.monotonic`, looked up at call time so a test clock can stand in for it.
    """

    def __init__(self, questions: int, seconds: float) -> None:
        self.questions = questions
        self.seconds = seconds
        self._asked: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int) -> float:
        """Seconds until the user may ask again; 0 means now, and counts this question."""
        if self.seconds <= 0:
            return 0.0
        now = time.monotonic()
        self._forget_idle(now)
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= self.seconds:
            asked.popleft()
        if len(asked) >= self.questions:
            return max(self.seconds - (now - asked[0]), 0.001)
        asked.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded by the number of users active in the last window.
        if len(self._asked) < 1024:
            return
        for user_id in [u for u, a in self._asked.items() if not a or now - a[-1] >= self.seconds]:
            del self._asked[user_id]
