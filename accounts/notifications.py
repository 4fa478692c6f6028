"""The kinds of notification, registered by the apps that send them.

`accounts` stores and delivers notifications but does not know what they are about:
review registers its mentions, replies, review requests and decisions from its
`AppConfig.ready()`. The kinds are the choices of `Notification.kind` (labels on the
notifications page) and `notify()` refuses a kind nobody registered.
"""

_kinds: dict[str, str] = {}


def register_notification_kind(value: str, label: str) -> None:
    if len(value) > 20:
        raise ValueError(f"A notification kind has at most 20 characters: {value!r}.")
    _kinds[value] = label


def notification_kind_choices() -> list[tuple[str, str]]:
    return list(_kinds.items())


def is_notification_kind(value: str) -> bool:
    return value in _kinds
