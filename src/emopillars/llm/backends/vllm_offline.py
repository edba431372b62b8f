"""vLLM's offline engine in this process (GPU only): whole batches at once, guided JSON, prefix caching.

The client hands this backend every pending request of a run in one call (``batched = True``), and
vLLM schedules them with continuous batching; requests that share a system prompt reuse its KV
blocks (``enable_prefix_caching``). Guided JSON uses ``StructuredOutputsParams`` (vLLM >= 0.10.2) or
``GuidedDecodingParams`` (older). vLLM is imported lazily: the rest of the toolkit never needs it,
and without CUDA this backend refuses to start with a clear message.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emopillars.llm.backends.base import Backend, BackendError, BackendUnavailable, Completion
from emopillars.llm.types import ChatRequest, ErrorKind

log = logging.getLogger(__name__)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class VLLMOfflineBackend(Backend):
    """A Hugging Face model id or local directory run by ``vllm.LLM``."""

    kind = "vllm"
    batched = True
    default_concurrency = 1024

    def __init__(
        self,
        model: str,
        *,
        max_model_len: int | None = 8192,
        gpu_memory_utilization: float = 0.9,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        seed: int = 0,
        **engine_kwargs: Any,
    ) -> None:
        if not cuda_available():
            raise BackendUnavailable(
                "the vLLM offline backend needs a CUDA GPU and none is visible here; use the embedded backend "
                "(--llm llamacpp:qwen2.5-0.5b) or a server (--llm openai:http://HOST:8000/v1#MODEL)"
            )
        try:
            import vllm
        except ImportError as exc:
            raise BackendUnavailable("vLLM is not installed; install it with: pip install 'emopillars[gpu]'") from exc
        self._vllm = vllm
        self.model = model
        self.model_id = f"vllm:{model}"
        self._engine = vllm.LLM(
            model=model,
            enable_prefix_caching=True,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            seed=seed,
            **engine_kwargs,
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vllm")
        self._structured = _structured_output_factory(vllm)

    def describe(self) -> str:
        return f"vLLM offline engine {self._vllm.__version__}, model {self.model}"

    def sampling_params(self, request: ChatRequest):
        p = request.params
        kwargs: dict[str, Any] = {
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "repetition_penalty": p.repetition_penalty,
            "seed": p.seed,
        }
        if p.stop:
            kwargs["stop"] = list(p.stop)
        if request.schema is not None:
            kwargs.update(self._structured(request.schema))
        return self._vllm.SamplingParams(**kwargs)

    async def complete(self, request: ChatRequest) -> Completion:
        result = (await self.complete_batch([request]))[0]
        if isinstance(result, BaseException):
            raise result
        return result

    async def complete_batch(self, requests: list[ChatRequest]) -> list[Completion | BaseException]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._generate_sync, requests)

    def _generate_sync(self, requests: list[ChatRequest]) -> list[Completion | BaseException]:
        if not requests:
            return []
        conversations = [[dict(m) for m in r.messages] for r in requests]
        try:
            params = [self.sampling_params(r) for r in requests]
            outputs = self._engine.chat(conversations, sampling_params=params, use_tqdm=False)
        except Exception as exc:  # one bad prompt fails the whole call: isolate it by running one by one
            if len(requests) == 1:
                # the engine rejected this request (e.g. longer than max_model_len): a setting to fix
                return [BackendError(f"vLLM failed: {type(exc).__name__}: {exc}", kind=ErrorKind.FATAL)]
            log.warning("vLLM batch failed (%s); retrying the %d requests one by one", exc, len(requests))
            return [self._generate_sync([r])[0] for r in requests]
        return [_completion(out) for out in outputs]

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True)
        self._engine = None


def _completion(output) -> Completion:
    best = output.outputs[0]
    return Completion(
        text=best.text,
        prompt_tokens=len(output.prompt_token_ids or []),
        completion_tokens=len(best.token_ids or []),
        finish_reason=best.finish_reason,
    )


def _structured_output_factory(vllm_module):
    """A function schema -> SamplingParams kwargs, for whichever API this vLLM version has."""
    sampling = vllm_module.sampling_params
    if hasattr(sampling, "StructuredOutputsParams"):
        return lambda schema: {"structured_outputs": sampling.StructuredOutputsParams(json=schema)}
    if hasattr(sampling, "GuidedDecodingParams"):
        return lambda schema: {"guided_decoding": sampling.GuidedDecodingParams(json=schema)}
    raise BackendUnavailable(f"vLLM {vllm_module.__version__} has no guided JSON decoding API known to emopillars")
