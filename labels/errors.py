"""Refusals raised before any PDF is produced; the caller shows the message and prints nothing."""


class LabelError(ValueError):
    """Base class: the document was refused and no PDF exists."""


class UnknownStock(LabelError):
    def __init__(self, code: str, known: tuple[str, ...]) -> None:
        self.code = code
        super().__init__(f"Unknown label stock {code!r}; known stocks: {', '.join(known)}")


class InvalidStartPosition(LabelError):
    def __init__(self, position: object, stock: str, per_page: int) -> None:
        self.position = position
        self.stock = stock
        super().__init__(
            f"Start position {position!r} is off the sheet for stock {stock!r}: "
            f"choose 1 to {per_page}"
        )


class MissingField(LabelError):
    def __init__(self, document: str, field: str) -> None:
        self.document = document
        self.field = field
        super().__init__(f"{document}: required field {field!r} is missing")


class InvalidField(LabelError):
    def __init__(self, document: str, field: str, reason: str) -> None:
        self.document = document
        self.field = field
        super().__init__(f"{document}: field {field!r} {reason}")


class LabelDoesNotFit(LabelError):
    def __init__(self, field: str, stock: str, detail: str = "") -> None:
        self.field = field
        self.stock = stock
        message = f"{field!r} does not fit on stock {stock!r} even at the minimum legible size"
        super().__init__(f"{message}: {detail}" if detail else message)
