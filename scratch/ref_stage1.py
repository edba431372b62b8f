"""Reference run, stage 1: actors + utterances only (they do not depend on the label setup). Stops at labels."""
import sys
from emopillars.synth import SynthesisConfig, synthesize
from emopillars.synth import pipeline

original = pipeline._Run.run
def run(self, name, rows):
    if name == "labels":
        print(f"stage 1 done: {len(rows)} utterances to label", flush=True)
        raise KeyboardInterrupt
    return original(self, name, rows)
pipeline._Run.run = run
config = SynthesisConfig(
    corpus="/work/shared/data/narratives/wikipedia_british_movie_plots.jsonl",
    out_dir=sys.argv[1], llm="llamacpp:qwen2.5-1.5b", plots=int(sys.argv[2]), max_actors=3, seed=0, batch_size=8,
)
try:
    synthesize(config)
except KeyboardInterrupt:
    print("stopped before labels", flush=True)
