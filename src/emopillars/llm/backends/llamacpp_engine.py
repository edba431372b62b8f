"""The decoding loop of the embedded llama.cpp backend, written for short structured answers on a CPU.

Why not llama-cpp-python's ``create_chat_completion`` (measured on the 1.5B teacher, 2 shared cores, label
answers; see ``benchmarks/teacher_speed.py`` and BENCHMARKS.md "Synthesis"):

1. **Grammar sampling.** Its sampler chain runs the grammar over all ~152,000 vocabulary entries at every
   generated token: 150-190 ms per token, a quarter of the generation time (without a grammar, sampling
   took 6 ms). Here the best token is checked alone first; only when the grammar rejects it are the 256 best
   candidates checked, and only when none of those fits, the whole vocabulary. For greedy decoding this picks
   exactly the token the full chain picks (the best token the grammar allows).
2. **Jump-forward.** In a JSON answer much of the text is fixed by the grammar (``{"emotions": [{"emotion":
   "``, ``", "level": ``). Where the grammar allows exactly one next character (probed against the
   single-byte tokens), that text is appended without asking the model, and its tokens are evaluated in one
   batch with the next step (a batch costs far less per token than one decode step). An answer ends as soon
   as the grammar is complete. The last token of a forced text is left to the model (except where the text
   opens an enum value, or completes the answer): the model may write it merged with what follows (``"},``),
   and after a token boundary it would not have made it continues differently -- forcing ``}`` alone after
   an array item made the models close the array after one item.
3. **Prompt-lookup drafts.** With greedy decoding, when the last tokens also occur earlier in the prompt or
   answer (copying a context to clean it, names from the story), the tokens that followed them there are
   proposed as a draft, evaluated in the same batch, and kept for as long as they are what the model would
   have picked greedily (so the output is unchanged; only the number of decode steps drops).
4. **Prefix reuse** across calls as before: the tokens already in the KV cache that the new prompt starts
   with are not evaluated again (the system prompt and the 28 definitions that open every label prompt).
5. **Enum values by their whole probability.** Token-by-token decoding of a constrained choice favours values
   that share a first token: ``disappointment``, ``disapproval`` and ``disgust`` all start with the token
   ``dis``, whose probability is the sum of theirs, so greedy decoding takes ``dis`` (and then the likeliest
   of the three) where the single most probable label was ``joy``. Measured on the 1.5B teacher's labels,
   that made ``disappointment`` the top label on 45 % of GoEmotions texts. When the text so far opens the
   value of a schema property with a string ``enum`` (``"emotion": "``), every value whose first token is
   within ``exp(-ENUM_PRUNE)`` of the best first token is scored by the probability of its whole token
   sequence (the tokens of all candidates evaluated in one batch, one KV sequence per candidate sharing the
   prefix), and the best value (greedy) or a draw from their softmax (temperature > 0) is appended.

Sampling with temperature > 0 draws from the same truncated distribution as llama.cpp's chain (repeat penalty
on the last 64 generated tokens, top-k 40, top-p, min-p 0.05, temperature) with a numpy generator seeded by
the request's seed; a draw the grammar rejects is redrawn from the grammar-masked distribution. Samples are
reproducible for a seed, but not the same draws as llama.cpp's own sampler would make.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

ENUM_PRUNE = 8.0  # enum values whose first token is this many nats below the best first token are not scored
MAX_SEQUENCES = 64  # KV sequences of the engine's context: 0 the answer, 1.. the enum candidates being scored
LAZY_TOP = 256  # candidates checked by the grammar before falling back to the whole vocabulary
PENALTY_LAST_N = 64  # as llama-cpp-python: the repeat penalty looks at the last 64 generated tokens
TOP_K, MIN_P = 40, 0.05  # llama-cpp-python's create_chat_completion defaults
MAX_FORCED_CHARS = 256


@dataclass
class DecodeStats:
    """Where the tokens (and the time) went, summed over calls."""

    calls: int = 0
    prompt_tokens: int = 0
    prompt_reused: int = 0
    prompt_evaluated: int = 0
    generated: int = 0
    forced: int = 0
    sampled: int = 0
    draft_proposed: int = 0
    draft_accepted: int = 0
    enum_choices: int = 0
    enum_scored: int = 0
    enum_tokens: int = 0
    decode_calls: int = 0
    grammar_lazy_hits: int = 0
    grammar_top_applies: int = 0
    grammar_full_applies: int = 0
    eval_s: float = 0.0
    sample_s: float = 0.0
    probe_s: float = 0.0
    total_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("eval_s", "sample_s", "probe_s", "total_s"):
            out[key] = round(out[key], 3)
        return out

    def add(self, other: DecodeStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    stats: DecodeStats = field(default_factory=DecodeStats)


class EngineError(RuntimeError):
    """The request cannot run (prompt longer than the context, a llama.cpp decode error)."""


_TOKEN_DTYPE = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


class Engine:
    """Greedy/sampled decoding with grammar, jump-forward and drafts on one llama.cpp context (sequence 0)."""

    def __init__(
        self,
        llama,
        *,
        n_ctx: int | None = None,
        jump_forward: bool = True,
        draft_max: int = 8,
        draft_ngram: int = 3,
        enum_scoring: bool = True,
    ) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._lc = llama_cpp
        self.llama = llama
        # Its own context: several KV sequences in one unified cache (the enum candidates share the prefix).
        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        params.n_ctx = int(n_ctx or llama.n_ctx())
        params.n_seq_max = MAX_SEQUENCES
        params.kv_unified = True
        self._context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self.ctx = self._context.ctx
        self.vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = int(llama.n_batch)
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.jump_forward = jump_forward
        self.draft_max = max(0, int(draft_max))
        self.draft_ngram = max(1, int(draft_ngram))
        self.enum_scoring = enum_scoring
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, MAX_SEQUENCES)
        self._enum_tokens: dict[str, list[int]] = {}
        self.tokens: list[int] = []  # what sequence 0 of the KV cache holds
        self.stats = DecodeStats()
        # candidate buffers shared with llama.cpp (llama_token_data is {int32 id, float logit, float p})
        self._cand = (llama_cpp.llama_token_data * self.n_vocab)()
        self._cand_np = np.frombuffer(self._cand, dtype=_TOKEN_DTYPE)
        self._cand_arr = llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._cand, llama_cpp.llama_token_data_p), size=0, selected=-1, sorted=False
        )
        self._piece_buf = ctypes.create_string_buffer(256)
        self._pieces: dict[int, bytes] = {}
        self._byte_token: dict[int, int] = {}  # byte value -> a token whose piece is exactly that byte
        self._eog: list[int] = []
        self._scan_vocab()
        self._probe_ids = np.array(sorted(set(self._byte_token.values())) + self._eog, dtype=np.int32)
        self._probe_byte = {tok: b for b, tok in self._byte_token.items()}
        self._grammars: dict[str, Any] = {}

    # -- vocabulary ------------------------------------------------------------------------------
    def piece(self, token: int) -> bytes:
        cached = self._pieces.get(token)
        if cached is None:
            n = self._lc.llama_token_to_piece(self.vocab, token, self._piece_buf, 256, 0, False)
            cached = self._piece_buf.raw[: max(n, 0)]
            self._pieces[token] = cached
        return cached

    def _scan_vocab(self) -> None:
        is_eog = self._lc.llama_vocab_is_eog
        for token in range(self.n_vocab):
            if is_eog(self.vocab, token):
                self._eog.append(token)
                continue
            piece = self.piece(token)
            if len(piece) == 1 and piece[0] not in self._byte_token:
                self._byte_token[piece[0]] = token
        self._eog_set = set(self._eog)

    def tokenize(self, text: bytes, special: bool = False) -> list[int]:
        return self.llama.tokenize(text, add_bos=False, special=special)

    def forget(self) -> None:
        """Drop the KV cache (another code path used the context)."""
        self._lc.llama_memory_clear(self.mem, True)
        self.tokens = []

    # -- grammar ---------------------------------------------------------------------------------
    def _grammar(self, text: str):
        proto = self._grammars.get(text)
        if proto is None:
            proto = self._lc.llama_sampler_init_grammar(self.vocab, text.encode("utf-8"), b"root")
            if not proto:
                raise EngineError("llama.cpp could not parse the grammar")
            self._grammars[text] = proto
        return self._lc.llama_sampler_clone(proto)

    def _apply(self, grammar, ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """The logits of ``ids`` after the grammar (-inf where it rejects the token)."""
        n = len(ids)
        view = self._cand_np[:n]
        view["id"] = ids
        view["logit"] = logits
        view["p"] = 0.0
        self._cand_arr.size = n
        self._cand_arr.selected = -1
        self._cand_arr.sorted = False
        self._lc.llama_sampler_apply(grammar, ctypes.byref(self._cand_arr))
        return view["logit"].copy()

    def _forced(self, grammar, stats: DecodeStats) -> tuple[bytes, bool]:
        """(text the grammar forces next, whether the grammar is then complete); the text is accepted into it."""
        started = time.perf_counter()
        out = bytearray()
        complete = False
        zeros = np.zeros(len(self._probe_ids), dtype=np.float32)
        while len(out) < MAX_FORCED_CHARS:
            allowed = self._probe_ids[np.isfinite(self._apply(grammar, self._probe_ids, zeros))]
            if len(allowed) == 0:
                break
            if all(int(t) in self._eog_set for t in allowed):
                complete = True
                break
            if len(allowed) != 1:
                break
            byte = self._probe_byte[int(allowed[0])]
            if byte >= 0x80:  # a multi-byte character: leave it to the model
                break
            self._lc.llama_sampler_accept(grammar, int(allowed[0]))
            out.append(byte)
        stats.probe_s += time.perf_counter() - started
        return bytes(out), complete

    def _forced_prefix(self, grammar, text: bytearray, enums, stats: DecodeStats) -> tuple[bytes, bool]:
        """The part of the forced text to append without asking the model; it is accepted into ``grammar``.

        The forced text is probed on a copy of the grammar. Its last token is left to the model (unless the
        answer is then complete, or the text opens an enum value, which enum scoring decides): the model may
        write that text merged with what follows in one token, and does not continue the same way after a
        token boundary it would not have made. Forcing ``}`` alone after an array item's closing quote, where
        the model writes ``"},`` or ``},``, made small models close the array after one item (``}]}``) --
        one utterance per character instead of ten.
        """
        probe = self._lc.llama_sampler_clone(grammar)
        try:
            forced, complete = self._forced(probe, stats)
        finally:
            self._lc.llama_sampler_free(probe)
        if not forced:
            return forced, complete
        if not complete and not (self.enum_scoring and self._enum_key(text + forced, enums or {}) is not None):
            tokens = self._tokens_for(forced)
            forced = b"".join(self.piece(t) for t in tokens[:-1])
        for byte in forced:
            self._lc.llama_sampler_accept(grammar, self._byte_token[byte])
        return forced, complete

    def _tokens_for(self, text: bytes) -> list[int]:
        """The model's tokens for forced text; byte tokens when its tokenizer would change the text."""
        tokens = self.tokenize(text)
        if b"".join(self.piece(t) for t in tokens) == text:
            return tokens
        return [self._byte_token[b] for b in text]

    # -- evaluation ------------------------------------------------------------------------------
    def _eval(self, tokens: list[int], want: set[int], stats: DecodeStats) -> dict[int, np.ndarray]:
        """Append ``tokens`` to sequence 0; logits (copies) of the positions in ``want`` (indexes into tokens)."""
        needed = len(self.tokens) + len(tokens)
        if needed > self.n_ctx:
            raise EngineError(f"the request needs {needed} tokens; the context holds {self.n_ctx}")
        started = time.perf_counter()
        out: dict[int, np.ndarray] = {}
        batch = self._batch
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            base = len(self.tokens)
            batch.n_tokens = len(chunk)
            for i, token in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = base + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = (start + i) in want
            rc = self._lc.llama_decode(self.ctx, batch)
            if rc != 0:
                self._lc.llama_memory_seq_rm(self.mem, 0, base, -1)
                raise EngineError(f"llama_decode failed with status {rc}")
            stats.decode_calls += 1
            self.tokens.extend(chunk)
            for i in range(len(chunk)):
                if (start + i) in want:
                    ptr = self._lc.llama_get_logits_ith(self.ctx, i)
                    out[start + i] = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
        stats.eval_s += time.perf_counter() - started
        return out

    def _truncate(self, n: int) -> None:
        if n < len(self.tokens):
            self._lc.llama_memory_seq_rm(self.mem, 0, n, -1)
            del self.tokens[n:]

    # -- sampling --------------------------------------------------------------------------------
    @staticmethod
    def _penalize(logits: np.ndarray, history: list[int], penalty: float) -> np.ndarray:
        if penalty == 1.0 or not history:
            return logits
        ids = np.unique(np.asarray(history[-PENALTY_LAST_N:], dtype=np.int64))
        values = logits[ids]
        logits[ids] = np.where(values > 0, values / penalty, values * penalty)
        return logits

    def _choose(self, logits, grammar, params, rng, stats: DecodeStats) -> int:
        started = time.perf_counter()
        try:
            if params.temperature <= 0:
                return self._greedy(logits, grammar, stats)
            return self._sample(logits, grammar, params, rng, stats)
        finally:
            stats.sample_s += time.perf_counter() - started

    def _greedy(self, logits: np.ndarray, grammar, stats: DecodeStats) -> int:
        best = int(np.argmax(logits))
        if grammar is None:
            return best
        if np.isfinite(self._apply(grammar, np.array([best], dtype=np.int32), logits[[best]]))[0]:
            stats.grammar_lazy_hits += 1
            return best
        top = np.argpartition(-logits, LAZY_TOP)[:LAZY_TOP].astype(np.int32)
        masked = self._apply(grammar, top, logits[top])
        stats.grammar_top_applies += 1
        if np.isfinite(masked).any():
            return int(top[int(np.argmax(masked))])
        stats.grammar_full_applies += 1
        masked = self._apply(grammar, np.arange(self.n_vocab, dtype=np.int32), logits)
        if not np.isfinite(masked).any():
            raise EngineError("the grammar allows no token here")
        return int(np.argmax(masked))

    @staticmethod
    def _draw(logits: np.ndarray, ids: np.ndarray, params, rng) -> int | None:
        """top-k 40 -> top-p -> min-p 0.05 -> temperature -> draw, over the finite ``logits`` of ``ids``."""
        finite = np.isfinite(logits)
        if not finite.any():
            return None
        logits, ids = logits[finite], ids[finite]
        order = np.argsort(-logits, kind="stable")[:TOP_K]
        logits, ids = logits[order], ids[order]
        probs = np.exp(logits - logits[0])
        probs /= probs.sum()
        if params.top_p < 1.0:
            keep = int(np.searchsorted(np.cumsum(probs), params.top_p) + 1)
            logits, ids, probs = logits[:keep], ids[:keep], probs[:keep]
        keep = probs >= MIN_P * probs[0]
        logits, ids = logits[keep], ids[keep]
        scaled = (logits - logits[0]) / max(params.temperature, 1e-6)
        p = np.exp(scaled)
        p /= p.sum()
        return int(ids[rng.choice(len(ids), p=p)])

    def _sample(self, logits: np.ndarray, grammar, params, rng, stats: DecodeStats) -> int:
        all_ids = np.arange(self.n_vocab, dtype=np.int32)
        token = self._draw(logits, all_ids, params, rng)
        if grammar is None or (
            token is not None
            and np.isfinite(self._apply(grammar, np.array([token], dtype=np.int32), logits[[token]]))[0]
        ):
            stats.grammar_lazy_hits += grammar is not None
            return int(token)
        stats.grammar_full_applies += 1
        masked = self._apply(grammar, all_ids, logits)
        token = self._draw(masked, all_ids, params, rng)
        if token is None:
            raise EngineError("the grammar allows no token here")
        return token

    # -- drafts ----------------------------------------------------------------------------------
    def _draft(self, history: list[int], budget: int) -> list[int]:
        n = self.draft_ngram
        if budget <= 0 or len(history) <= n:
            return []
        arr = np.asarray(history, dtype=np.int32)
        tail = arr[-n:]
        windows = np.lib.stride_tricks.sliding_window_view(arr[:-1], n)
        hits = np.flatnonzero((windows == tail).all(axis=1))
        if len(hits) == 0:
            return []
        start = int(hits[-1]) + n
        return arr[start : start + min(budget, self.draft_max)].tolist()

    # -- enum values -----------------------------------------------------------------------------
    @staticmethod
    def _enum_key(text: bytearray, enums: dict[str, list[str]]) -> list[str] | None:
        """The enum values when ``text`` has just opened the value of an enum property (``"key": "``)."""
        if not enums or not text.endswith(b'": "'):
            return None
        start = text.rfind(b'"', 0, len(text) - 4)
        if start < 0:
            return None
        return enums.get(text[start + 1 : len(text) - 4].decode("utf-8", errors="replace"))

    def _value_tokens(self, value: str) -> list[int]:
        tokens = self._enum_tokens.get(value)
        if tokens is None:
            tokens = self._tokens_for(value.encode("utf-8"))
            self._enum_tokens[value] = tokens
        return tokens

    def _choose_enum(self, values, first_logits, history, params, rng, stats: DecodeStats) -> list[int] | None:
        """The tokens of the enum value with the highest whole-sequence probability (or a draw when sampling)."""
        started = time.perf_counter()
        scored = self.enum_scores(values, first_logits, history, params.repetition_penalty, stats)
        if scored is None:
            return None
        alive, scores_arr = scored
        if params.temperature > 0:
            p = np.exp((scores_arr - scores_arr.max()) / params.temperature)
            pick = int(rng.choice(len(alive), p=p / p.sum()))
        else:
            pick = int(np.argmax(scores_arr))
        stats.enum_choices += 1
        stats.enum_scored += len(alive)
        stats.sample_s += time.perf_counter() - started
        return self._value_tokens(values[alive[pick]])

    def enum_scores(self, values, first_logits, history, penalty: float, stats: DecodeStats):
        """(indexes of the values scored, their log-probabilities) at the current end of sequence 0, whose next-token
        logits are ``first_logits``; None when they cannot be scored here (too many, no room)."""
        params = _Penalty(penalty)
        lp0 = _log_softmax(self._penalize(first_logits.copy(), history, params.repetition_penalty))
        candidates = [self._value_tokens(v) for v in values]
        best_first = max(lp0[c[0]] for c in candidates)
        alive = [i for i, c in enumerate(candidates) if lp0[c[0]] >= best_first - ENUM_PRUNE]
        if len(alive) > MAX_SEQUENCES - 1:
            return None
        nodes: dict[tuple[int, ...], list[int]] = {}  # a prefix that needs logits -> the sequences through it
        for seq, i in enumerate(alive, start=1):
            for depth in range(1, len(candidates[i])):
                nodes.setdefault(tuple(candidates[i][:depth]), []).append(seq)
        rows: dict[tuple[int, ...], np.ndarray] = {}
        if nodes:
            base = len(self.tokens)
            order = sorted(nodes, key=len)
            if len(order) > self.n_batch or base + max(map(len, order)) > self.n_ctx:
                return None
            seqs = sorted({s for ids in nodes.values() for s in ids})
            for seq in seqs:
                self._lc.llama_memory_seq_cp(self.mem, 0, seq, -1, -1)
            batch = self._batch
            batch.n_tokens = len(order)
            for i, key in enumerate(order):
                batch.token[i] = key[-1]
                batch.pos[i] = base + len(key) - 1
                batch.n_seq_id[i] = len(nodes[key])
                for k, seq in enumerate(nodes[key]):
                    batch.seq_id[i][k] = seq
                batch.logits[i] = True
            eval_started = time.perf_counter()
            rc = self._lc.llama_decode(self.ctx, batch)
            stats.eval_s += time.perf_counter() - eval_started
            stats.decode_calls += 1
            try:
                if rc != 0:
                    raise EngineError(f"llama_decode failed with status {rc} while scoring enum values")
                for i, key in enumerate(order):
                    ptr = self._lc.llama_get_logits_ith(self.ctx, i)
                    logits = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
                    rows[key] = _log_softmax(self._penalize(logits, history + list(key), params.repetition_penalty))
            finally:
                for seq in seqs:
                    self._lc.llama_memory_seq_rm(self.mem, seq, -1, -1)
        scores = []
        for i in alive:
            tokens = candidates[i]
            total = float(lp0[tokens[0]])
            for depth in range(1, len(tokens)):
                total += float(rows[tuple(tokens[:depth])][tokens[depth]])
            scores.append(total)
        return alive, np.asarray(scores)

    # -- one request -----------------------------------------------------------------------------
    def generate(
        self,
        prompt: list[int],
        params,
        *,
        grammar_text: str | None,
        stop: list[str],
        enums: dict[str, list[str]] | None = None,
    ) -> Generation:
        """Decode one answer. ``enums``: property name -> its string enum values (see enum scoring above)."""
        started = time.perf_counter()
        stats = DecodeStats(calls=1, prompt_tokens=len(prompt))
        if len(prompt) >= self.n_ctx:
            raise EngineError(f"the prompt has {len(prompt)} tokens; the context holds {self.n_ctx}")
        keep = 0
        for a, b in zip(self.tokens, prompt):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(prompt) - 1)  # the last prompt token is evaluated again for its logits
        self._truncate(keep)
        stats.prompt_reused = keep
        stats.prompt_evaluated = len(prompt) - keep
        grammar = self._grammar(grammar_text) if grammar_text else None
        rng = np.random.default_rng(params.seed) if params.temperature > 0 else None
        greedy = params.temperature <= 0
        stop_bytes = [s.encode("utf-8") for s in stop if s]
        pending = prompt[keep:]
        generated: list[int] = []
        text = bytearray()
        finish = None
        try:
            while finish is None:
                if grammar is not None and self.jump_forward:
                    forced, complete = self._forced_prefix(grammar, text, enums, stats)
                    if forced:
                        tokens = self._tokens_for(forced)[: params.max_tokens - len(generated)]
                        pending += tokens
                        generated += tokens
                        stats.forced += len(tokens)
                        text += b"".join(self.piece(t) for t in tokens)
                        if len(generated) >= params.max_tokens:
                            finish = "length"
                            break
                    if complete:
                        finish = "stop"
                        break
                budget = params.max_tokens - len(generated) - 1
                values = self._enum_key(text, enums) if self.enum_scoring and grammar is not None else None
                if values:
                    logits = self._eval(pending, {len(pending) - 1}, stats)
                    choice = self._choose_enum(values, logits[len(pending) - 1], generated, params, rng, stats)
                    if choice is not None:
                        choice = choice[: params.max_tokens - len(generated)]
                        for token in choice:
                            self._lc.llama_sampler_accept(grammar, token)
                        generated += choice
                        stats.enum_tokens += len(choice)
                        text += b"".join(self.piece(t) for t in choice)
                        pending = list(choice)
                        if len(generated) >= params.max_tokens:
                            finish = "length"
                        continue
                    self._truncate(len(self.tokens) - 1)  # evaluate the last pending token again below
                    pending = pending[-1:]
                drafts = self._draft(prompt + generated, budget) if greedy and self.draft_max else []
                base = len(self.tokens)
                want = {len(pending) - 1, *range(len(pending), len(pending) + len(drafts))}
                logits = self._eval(pending + drafts, want, stats)
                stats.draft_proposed += len(drafts)
                accepted: list[int] = []
                for j in range(len(drafts) + 1):
                    row = self._penalize(logits[len(pending) - 1 + j], generated + accepted, params.repetition_penalty)
                    token = self._choose(row, grammar, params, rng, stats)
                    if grammar is not None:
                        self._lc.llama_sampler_accept(grammar, token)
                    accepted.append(token)
                    if token in self._eog_set or j == len(drafts) or token != drafts[j]:
                        break
                matched = len(accepted) - 1  # accepted drafts (the last token is new, or differs from its draft)
                stats.draft_accepted += matched
                self._truncate(base + len(pending) + matched)
                last = accepted[-1]
                stats.sampled += 1
                keep_tokens = accepted if last not in self._eog_set else accepted[:-1]
                for token in keep_tokens:
                    generated.append(token)
                    text += self.piece(token)
                if last in self._eog_set:
                    finish = "stop"
                    break
                pending = [last]
                cut = _stop_at(text, stop_bytes)
                if cut is not None:
                    del text[cut:]
                    finish = "stop"
                elif len(generated) >= params.max_tokens:
                    finish = "length"
        finally:
            if grammar is not None:
                self._lc.llama_sampler_free(grammar)
        stats.generated = len(generated)
        stats.total_s = time.perf_counter() - started
        self.stats.add(stats)
        return Generation(text.decode("utf-8", errors="replace"), len(prompt), len(generated), finish, stats)

    def close(self) -> None:
        if self._batch is not None:
            self._lc.llama_batch_free(self._batch)
            self._batch = None
        for proto in self._grammars.values():
            self._lc.llama_sampler_free(proto)
        self._grammars.clear()
        self._context.close()


@dataclass(frozen=True)
class _Penalty:
    repetition_penalty: float


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    top = float(np.max(logits))
    return logits - top - float(np.log(np.exp(logits - top).sum()))


def _stop_at(text: bytearray, stops: list[bytes]) -> int | None:
    cuts = [text.find(s) for s in stops]
    found = [c for c in cuts if c >= 0]
    return min(found) if found else None
