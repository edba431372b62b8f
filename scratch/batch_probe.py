import sys, time, ctypes
import llama_cpp
from llama_cpp import _internals as internals
from emopillars.llm.models import model_path
name = sys.argv[1]; threads = int(sys.argv[2])
llama = llama_cpp.Llama(model_path=str(model_path(name)), n_ctx=256, n_threads=threads, verbose=False)
params = llama_cpp.llama_context_default_params()
params.n_ctx = 4096; params.n_batch = 512; params.n_ubatch = 512; params.n_seq_max = 8; params.kv_unified = True
params.n_threads = threads; params.n_threads_batch = threads; params.no_perf = True
ctx = internals.LlamaContext(model=llama._model, params=params, verbose=False)
mem = llama_cpp.llama_get_memory(ctx.ctx)
batch = llama_cpp.llama_batch_init(512, 0, 8)
def decode(items):  # items: (token, pos, seq, logits)
    batch.n_tokens = len(items)
    for i, (t, p, s, l) in enumerate(items):
        batch.token[i] = t; batch.pos[i] = p; batch.n_seq_id[i] = 1; batch.seq_id[i][0] = s; batch.logits[i] = l
    rc = llama_cpp.llama_decode(ctx.ctx, batch); assert rc == 0, rc
prompt = llama.tokenize(b"Emotions and their definitions: admiration, amusement, anger, annoyance. " * 8)[:100]
t = time.perf_counter(); decode([(tok, i, 0, i == len(prompt) - 1) for i, tok in enumerate(prompt)]); pe = time.perf_counter() - t
print(f"prompt eval {len(prompt)} tokens {pe:.2f}s = {len(prompt)/pe:.1f} tok/s", flush=True)
for s in range(1, 8):
    llama_cpp.llama_memory_seq_cp(mem, 0, s, -1, -1)
pos = len(prompt)
for B in (1, 2, 4, 8, 1):
    steps = 6
    t = time.perf_counter()
    for k in range(steps):
        decode([(prompt[(k + s) % 50], pos + k, s, True) for s in range(B)])
    dt = (time.perf_counter() - t) / steps
    for s in range(8):
        llama_cpp.llama_memory_seq_rm(mem, s, pos, -1)
    print(f"batch {B}: {dt*1000:.0f} ms/step, {B/dt:.1f} tok/s", flush=True)
