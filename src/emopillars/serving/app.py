"""The HTTP API of a trained classifier (FastAPI), with dynamic batching and a page to try the model.

Routes: ``POST /predict`` (one ``{"text", "context"}`` item or a list of them -> the scores of every label, the
labels the model's saved threshold policy picks, and the model id), ``GET /health``, ``GET /metadata`` (labels,
thresholds, context-aware or not, backend, bf16), ``GET /`` (the page), ``GET /docs`` (OpenAPI).

Limits: at most ``max_items`` items per request and ``max_text_chars`` characters per text or context (413 with
the limit named), a body of at most ``max_body_bytes`` (413, checked while reading, before parsing), malformed
JSON or a wrong field (422 naming the field, e.g. ``body[2].text``). The body is parsed and validated here rather
than by FastAPI's parameter binding so that a one-item body and a list get errors that name their own fields
(the union's default errors list both alternatives); the OpenAPI schema still documents both shapes.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass
from importlib import resources

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

import emopillars
from emopillars.data.example import Example
from emopillars.serving.batcher import DynamicBatcher

log = logging.getLogger(__name__)


@dataclass
class ServeSettings:
    """Server limits and batching bounds (``emopillars serve`` options)."""

    max_batch: int = 64
    max_wait_ms: float = 5.0
    max_items: int = 256
    max_text_chars: int = 10_000
    batch_size: int = 64

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_items", "max_text_chars", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max-wait-ms must be >= 0, got {self.max_wait_ms!r}")

    @property
    def max_body_bytes(self) -> int:
        """Room for ``max_items`` items whose text and context are both at the limit, JSON-escaped."""
        return 64 * 1024 + self.max_items * (2 * self.max_text_chars * 6 + 256)


class PredictItem(BaseModel):
    """One utterance; ``context`` (and ``speaker``) are used by context-aware models only."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "I can't wait to see you!"}]})

    text: str = Field(description="the utterance to classify")
    context: str | None = Field(default=None, description="what came before (context-aware models)")
    speaker: str | None = Field(default=None, description="who says it (context-aware models)")


class Prediction(BaseModel):
    labels: list[str] = Field(description="labels at or above their threshold, highest score first")
    scores: dict[str, float] = Field(description="sigmoid score of every label, in the model's label order")


class PredictResponse(Prediction):
    model_id: str


class BatchPredictResponse(BaseModel):
    model_id: str
    predictions: list[Prediction]


_ITEM = TypeAdapter(PredictItem)
_ITEMS = TypeAdapter(list[PredictItem])
_ITEM_SCHEMA = PredictItem.model_json_schema()


def _request_body_schema(max_items: int) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [_ITEM_SCHEMA, {"type": "array", "items": _ITEM_SCHEMA, "maxItems": max_items}]
                    },
                    "examples": {
                        "one": {"value": {"text": "I can't wait to see you!"}},
                        "several": {
                            "value": [
                                {"text": "Thanks, that really helped."},
                                {"text": "Well, that went well.", "context": "The cake fell on the floor."},
                            ]
                        },
                    },
                }
            },
        }
    }


def _where(loc: tuple) -> str:
    out = "body"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _validation_response(errors: list[dict]) -> JSONResponse:
    detail = [
        {"loc": ["body", *err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in errors
    ]
    first = detail[0] if detail else {"loc": ["body"], "msg": "invalid body"}
    message = f"{_where(tuple(first['loc'][1:]))}: {first['msg']}"
    if len(detail) > 1:
        message += f" (and {len(detail) - 1} more)"
    return JSONResponse({"error": message, "detail": detail}, status_code=422)


def _error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def _page() -> str:
    return resources.files("emopillars.serving").joinpath("page.html").read_text(encoding="utf-8")


def create_app(classifier, settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app serving ``classifier`` (an :class:`~emopillars.serving.EmotionClassifier`)."""
    settings = settings or ServeSettings()
    model_id = classifier.model_id
    page = _page()

    def run_batch(examples: list[Example]) -> list[dict]:
        return classifier.predict(examples, batch_size=settings.batch_size)

    batcher = DynamicBatcher(run_batch, settings.max_batch, settings.max_wait_ms)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        log.info("serving %s (%s, %s)", model_id, classifier.backend, classifier.precision.describe())
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(
        title="Emo Pillars emotion classifier",
        version=emopillars.__version__,
        description=(
            f"Model `{model_id}`: {len(classifier.label_names)} emotion labels, multi-label scores and the labels "
            "its calibrated thresholds pick."
            + (" Context-aware: send `context` with `text`." if classifier.context_aware else "")
        ),
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    app.state.settings = settings

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = [{**err, "loc": tuple(err.get("loc", ()))[1:]} for err in exc.errors()]
        return _validation_response(errors)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/health", summary="liveness, and what the batcher has done")
    async def health() -> dict:
        return {"status": "ok", "model_id": model_id, "queued": batcher.queued, **batcher.stats.to_dict()}

    @app.get("/metadata", summary="labels, thresholds, encoding, backend and limits")
    async def metadata() -> dict:
        return {**classifier.metadata(), "limits": asdict(settings), "version": emopillars.__version__}

    @app.post(
        "/predict",
        summary="emotion scores and labels of one item or a list of items",
        response_model=PredictResponse | BatchPredictResponse,
        openapi_extra=_request_body_schema(settings.max_items),
        responses={
            413: {"description": "too many items, a text too long, or a body too large"},
            422: {"description": "malformed JSON or a wrong field (the message names it)"},
        },
    )
    async def predict(request: Request):
        body = await _read_body(request, settings.max_body_bytes)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _validation_response([{"loc": (), "msg": f"not valid JSON ({exc})", "type": "json_invalid"}])
        single = isinstance(payload, dict)
        if single:
            adapter = _ITEM
        elif isinstance(payload, list):
            if len(payload) > settings.max_items:
                raise _error(
                    413,
                    f"{len(payload)} items in one request; "
                    f"this server takes at most {settings.max_items} (--max-items)",
                )
            if not payload:
                return _validation_response([{"loc": (), "msg": "the list of items is empty", "type": "too_short"}])
            adapter = _ITEMS
        else:
            message = 'expected a JSON object {"text": ..., "context": ...} or a list of them'
            return _validation_response([{"loc": (), "msg": message, "type": "model_type"}])
        try:
            parsed = adapter.validate_python(payload)
        except ValidationError as exc:
            return _validation_response(exc.errors(include_url=False))
        items = [parsed] if single else parsed
        examples = []
        for index, item in enumerate(items):
            where = "body" if single else f"body[{index}]"
            for name in ("text", "context", "speaker"):
                value = getattr(item, name)
                if value is not None and len(value) > settings.max_text_chars:
                    raise _error(
                        413,
                        f"{where}.{name} has {len(value):,} characters; this server accepts at most "
                        f"{settings.max_text_chars:,} (--max-text-chars)",
                    )
            if not item.text.strip():
                return _validation_response(
                    [{"loc": (("text",) if single else (index, "text")), "msg": "the text is empty", "type": "empty"}]
                )
            examples.append(Example(text=item.text, context=item.context, speaker=item.speaker))
        try:
            results = await batcher.submit(examples)
        except Exception as exc:
            raise _error(500, f"inference failed: {type(exc).__name__}: {exc}") from exc
        if single:
            return {"model_id": model_id, **results[0]}
        return {"model_id": model_id, "predictions": results}

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is larger than ``limit`` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _error(400, "invalid Content-Length header") from None
        if size > limit:
            raise _error(413, f"request body of {size:,} bytes; this server accepts at most {limit:,}")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _error(413, f"request body larger than {limit:,} bytes; this server accepts at most {limit:,}")
        chunks.append(chunk)
    return b"".join(chunks)
