import sys, time, dataclasses
from emopillars.llm.backends.llamacpp import LlamaCppBackend
from emopillars.llm.models import model_path
from emopillars.synth.steps import labels
from emopillars.synth.steps.base import make_step
name = sys.argv[1]; threads = int(sys.argv[2]); n = int(sys.argv[3]) if len(sys.argv) > 3 else 4
utts = ["I can't believe they lied to me again, I'm done with them.", "Thank you so much for coming, it means the world.",
        "What if the train doesn't come and I miss the interview?", "We won! I actually won the race!",
        "The funeral is on Tuesday. I still can't believe he's gone.", "Ok, I'll buy milk on the way home."][:n]
step = make_step(labels, max_tokens=100)
reqs = step.build_requests([{"id": str(i), "utterance": u} for i, u in enumerate(utts)])
configs = [("stock", dict(engine="llama-cpp-python")), ("fast-nojf", dict(jump_forward=False, fixed_separators=False)), ("fast", dict())]
out = {}
for label, kw in configs:
    b = LlamaCppBackend(model_path(name), n_threads=threads, **kw)
    t = time.perf_counter()
    out[label] = [b._complete_sync(r) for r in reqs]
    dt = time.perf_counter() - t
    st = b.decode_stats()
    print(f"{label}: {dt:.1f}s", st.to_dict() if st else "", flush=True)
    for c in out[label]:
        print("   ", c.completion_tokens, c.finish_reason, c.text)
    b._llama.close()
for label in ("fast-nojf", "fast"):
    same = sum(a.text == b.text for a, b in zip(out["stock"], out[label]))
    print(f"{label} identical to stock: {same}/{len(reqs)}")
