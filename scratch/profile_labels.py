"""Where does a 1.5B label call spend its time? prompt eval vs decode vs sampling (grammar) vs Python."""
import sys, time, json
from collections import defaultdict
import llama_cpp
from emopillars.llm.backends.llamacpp import LlamaCppBackend
from emopillars.llm.models import model_path
from emopillars.llm.grammar import schema_to_gbnf
from emopillars.synth.steps import labels
from emopillars.synth.steps.base import make_step
from emopillars.llm.types import SamplingParams

name = sys.argv[1] if len(sys.argv) > 1 else "qwen2.5-1.5b"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
timers = defaultdict(float); counts = defaultdict(int)
L = llama_cpp.Llama
orig_eval, orig_sample = L.eval, L.sample
def eval_(self, tokens):
    t = time.perf_counter(); r = orig_eval(self, tokens); dt = time.perf_counter() - t
    key = "prompt_eval" if len(tokens) > 1 else "decode"
    timers[key] += dt; counts[key] += len(tokens); return r
def sample_(self, *a, **k):
    t = time.perf_counter(); r = orig_sample(self, *a, **k); timers["sample"] += time.perf_counter() - t; counts["sample"] += 1; return r
L.eval, L.sample = eval_, sample_

b = LlamaCppBackend(model_path(name), n_threads=threads)
step = make_step(labels, max_tokens=100)
utts = ["I can't believe they lied to me again, I'm done with them.", "Thank you so much for coming, it means the world.",
        "What if the train doesn't come and I miss the interview?", "We won! I actually won the race!",
        "The funeral is on Tuesday. I still can't believe he's gone.", "Ok, I'll buy milk on the way home."]
reqs = step.build_requests([{"id": str(i), "utterance": u} for i, u in enumerate(utts)])
for grammar in (True, False):
    for i, r in enumerate(reqs):
        timers.clear(); counts.clear()
        if not grammar:
            import dataclasses; r = dataclasses.replace(r, schema=None)
        t = time.perf_counter(); c = b._complete_sync(r); total = time.perf_counter() - t
        other = total - sum(timers.values())
        print(f"grammar={grammar} #{i} total {total:.2f}s  " + "  ".join(f"{k} {v:.2f}s/{counts[k]}" for k, v in timers.items())
              + f"  python/other {other:.2f}s  prompt_tokens {c.prompt_tokens} gen {c.completion_tokens}  {c.text[:80]!r}", flush=True)
