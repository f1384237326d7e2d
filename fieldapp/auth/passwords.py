"""The password policy (issue 14): the one rule every password set in fieldapp passes,
whoever sets it (my account page, the people pages, the import, ``fieldapp users``, the
demo, the one-time passwords we generate).

Rules:

- at least ``MIN_PASSWORD`` (10) characters, at most ``MAX_PASSWORD`` (200). 10, not 8:
  NIST SP 800-63B-4 (2024) asks 15 of a password that is the only factor and 8 of one
  behind a second factor; most of our users sign in with a password alone on a phone,
  and 10 is the length of the one-time passwords they are handed, so nobody is asked
  to type less than what they already typed once;
- a zxcvbn (Dropbox's strength estimator, PyPI ``zxcvbn``) score of at least
  ``MIN_SCORE`` (3: "safely unguessable", about 10^8 guesses, which Argon2id and the
  login locks make out of reach online and slow offline). The person's username,
  display name and phone, and words everyone around here would try (``LOCAL_WORDS``:
  the app's and the programme's names, pinyin favourites such as ``woaini``, ``5201314``)
  count as known words, so ``wangfang123`` is as weak as ``password1``.

zxcvbn's feedback is English; ``password_problem`` says in Chinese what made the password
guessable (the weakest part it found) and what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MIN_SCORE = 3
# Words and numbers a guesser tries first here, which zxcvbn's English lists lack.
LOCAL_WORDS = (
    "fieldapp",
    "平安家庭",
    "pingan",
    "pinganjiating",
    "jiating",
    "fulian",
    "funv",
    "fulianhui",
    "tiaojie",
    "tiaojieyuan",
    "woaini",
    "aini",
    "5201314",
    "1314",
    "520",
    "zhongguo",
    "china",
    "mima",
    "abc123",
)


def _inputs(extra: Iterable[str | None]) -> list[str]:
    """Known words for zxcvbn: ``LOCAL_WORDS`` and the person's own (lower case; their
    parts too, so that ``wang.fang`` also counts ``wang`` and ``fang``)."""
    words = list(LOCAL_WORDS)
    for value in extra:
        text = (value or "").strip().lower()
        if text:
            words.append(text)
            words += [p for p in text.replace("_", ".").replace("-", ".").split(".") if p]
    return words


def _reason(result: dict) -> str:
    """Why zxcvbn found the password guessable, from its weakest kinds of match."""
    kinds = set()
    for match in result["sequence"]:
        pattern = match["pattern"]
        kinds.add(match.get("dictionary_name") if pattern == "dictionary" else pattern)
    if "user_inputs" in kinds:
        return _("含有您的用户名、姓名、手机号，或本系统、妇联等人人会先试的词")
    if "passwords" in kinds:
        return _("这是（或很像）一个常见密码")
    if "spatial" in kinds:
        return _("用了键盘上连在一起的键（如 qwerty、asdf）")
    if "sequence" in kinds:
        return _("用了连续的字母或数字（如 abc、123456）")
    if "repeat" in kinds:
        return _("用了重复的字符（如 aaa、abcabc）")
    if kinds & {"date", "regex"}:
        return _("用了年份或日期（如生日）")
    if kinds & {"english_wikipedia", "us_tv_and_film", "female_names", "male_names", "surnames"}:
        return _("只是一个常用词或姓名")
    return _("太短或太简单")


def password_problem(
    password: str,
    username: str | None = "",
    display_name: str | None = "",
    phone: str | None = "",
) -> str | None:
    """Why ``password`` may not be chosen (a Chinese sentence: what is wrong and what to
    do), or ``None`` when it passes. ``username``, ``display_name`` and ``phone`` are the
    person's own, which a guesser tries first."""
    if username and password.strip().lower() == username.lower():
        return _("密码不能与用户名相同")
    if len(password) < MIN_PASSWORD:
        return _(
            "密码至少需要 %(n)s 个字符。建议用三四个不相关的词或拼音连成一句（如 "
            "lanse-yueliang-chifan），比短而复杂的密码更好记也更安全。",
            n=MIN_PASSWORD,
        )
    if len(password) > MAX_PASSWORD:
        return _("密码最多 %(n)s 个字符", n=MAX_PASSWORD)
    result = zxcvbn(password, user_inputs=_inputs([username, display_name, phone]))
    if result["score"] >= MIN_SCORE:
        return None
    return _(
        "这个密码太容易被猜到：%(reason)s。请用三四个不相关的词或拼音连成一句（如 "
        "lanse-yueliang-chifan），不要用生日、手机号、姓名或键盘顺序。",
        reason=_reason(result),
    )
