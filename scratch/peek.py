import sys, json
from emopillars.llm.cache import ResponseCache, cache_key
from emopillars.llm.types import SamplingParams
from emopillars.teacher.items import load_items
from emopillars.teacher.raters import labels_step_for, answer_of
from emopillars.teacher.metrics import multilabel_audit
model_id, prompts, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
items = load_items("goemotions", "dev", n, 0)
step = labels_step_for(prompts if prompts != "-" else None, None, SamplingParams(seed=0))
cache = ResponseCache()
preds, gold = [], []
for row, g, req in zip(items.rows, items.gold, step.build_requests(items.rows)):
    hit = cache.get(cache_key(model_id, req))
    if hit is None: continue
    ans, _ = answer_of(hit, row); preds.append(ans); gold.append(g)
m = multilabel_audit(preds, gold)
print(len(preds), {k: round(m[k], 3) if isinstance(m[k], float) else m[k] for k in ("macro_f1","micro_f1","primary_accuracy","kappa","labels_per_example","gold_labels_per_example","collapse_label","collapse_share","failed")})
print(list(m["predicted_counts"].items())[:10])
