from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Frame(_message.Message):
    __slots__ = ("jpeg", "timestamp_us")
    JPEG_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    jpeg: bytes
    timestamp_us: int
    def __init__(self, jpeg: _Optional[bytes] = ..., timestamp_us: _Optional[int] = ...) -> None: ...

class ActionMark(_message.Message):
    __slots__ = ("action", "prompted_at_us")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PROMPTED_AT_US_FIELD_NUMBER: _ClassVar[int]
    action: str
    prompted_at_us: int
    def __init__(self, action: _Optional[str] = ..., prompted_at_us: _Optional[int] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("sdk", "sdk_version", "platform", "user_agent", "width", "height")
    SDK_FIELD_NUMBER: _ClassVar[int]
    SDK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    sdk: str
    sdk_version: str
    platform: str
    user_agent: str
    width: int
    height: int
    def __init__(self, sdk: _Optional[str] = ..., sdk_version: _Optional[str] = ..., platform: _Optional[str] = ..., user_agent: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class Capture(_message.Message):
    __slots__ = ("format_version", "challenge_id", "actions", "frames", "marks", "device", "started_at_unix_ms")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    MARKS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    challenge_id: str
    actions: _containers.RepeatedScalarFieldContainer[str]
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    marks: _containers.RepeatedCompositeFieldContainer[ActionMark]
    device: Device
    started_at_unix_ms: int
    def __init__(self, format_version: _Optional[int] = ..., challenge_id: _Optional[str] = ..., actions: _Optional[_Iterable[str]] = ..., frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ..., marks: _Optional[_Iterable[_Union[ActionMark, _Mapping]]] = ..., device: _Optional[_Union[Device, _Mapping]] = ..., started_at_unix_ms: _Optional[int] = ...) -> None: ...
