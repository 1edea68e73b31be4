"""A per-user cooldown: at most N questions in a sliding window of S seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable


class Cooldown:
    """Counts each user's recent questions; one instance is shared by every way of asking.

    discord.py's own `Cooldown` treats a clock reading of 0.0 as "no time given"; this one only
    needs `time.monotonic`, looked up at call time so a test clock can stand in for it.
    """

    def __init__(self, questions: int, seconds: float) -> None:
        self.questions = questions
        self.seconds = seconds
        self._asked: dict[Hashable, deque[float]] = {}

    def retry_after(
        self, user: Hashable, *, questions: int | None = None, seconds: float | None = None
    ) -> float:
        """Seconds until the user may ask again; 0 means now, and counts this question.

        `user` is any key (the bot uses server and user); `questions` and `seconds` replace the
        default limits for this call (a server's own cooldown).
        """
        questions = self.questions if questions is None else questions
        seconds = self.seconds if seconds is None else seconds
        if seconds <= 0:
            return 0.0
        now = time.monotonic()
        self._forget_idle(now)
        asked = self._asked.setdefault(user, deque())
        while asked and now - asked[0] >= seconds:
            asked.popleft()
        if len(asked) >= questions:
            return max(seconds - (now - asked[-questions]), 0.001)
        asked.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded by the number of users active in the last window (the longest
        # window a server can set is an hour).
        if len(self._asked) < 1024:
            return
        longest = max(self.seconds, 3600.0)
        for user in [u for u, a in self._asked.items() if not a or now - a[-1] >= longest]:
            del self._asked[user]
