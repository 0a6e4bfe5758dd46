# %% [markdown]
# # synthad from Python, as a PyOD user would use it
#
# Network connections (NSL-KDD): plenty of normal traffic, a few labeled denial-of-service
# attacks, and three attack families nobody labeled. We fit `synthad.SynthAD` on a pandas
# DataFrame (three of its columns are text), score the test connections, threshold them, and
# compare with PyOD's Isolation Forest on the same rows.
#
# Run it as a script (`.venv/bin/python examples/python_quickstart.py`, after
# `bash python/install.sh`) or open it as a notebook (the `# %%` cells; Jupyter with jupytext,
# VS Code). The data: `../shared/data` or `$SYNTHAD_DATA`.

# %%
import os
import pathlib
import time

import numpy as np
import pandas as pd
from pyod.models.iforest import IForest
from sklearn.metrics import average_precision_score

import synthad

REPO = pathlib.Path(__file__).resolve().parents[1] if "__file__" in globals() else pathlib.Path.cwd()
DATA = pathlib.Path(os.environ.get("SYNTHAD_DATA", REPO.parent / "shared" / "data"))
COLUMNS = (
    "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent hot "
    "num_failed_logins logged_in num_compromised root_shell su_attempted num_root "
    "num_file_creations num_shells num_access_files num_outbound_cmds is_host_login "
    "is_guest_login count srv_count serror_rate srv_serror_rate rerror_rate srv_rerror_rate "
    "same_srv_rate diff_srv_rate srv_diff_host_rate dst_host_count dst_host_srv_count "
    "dst_host_same_srv_rate dst_host_diff_srv_rate dst_host_same_src_port_rate "
    "dst_host_srv_diff_host_rate dst_host_serror_rate dst_host_srv_serror_rate "
    "dst_host_rerror_rate dst_host_srv_rerror_rate attack difficulty"
).split()
families = pd.read_csv(REPO / "examples" / "nsl-kdd-families.csv").set_index("label")["kind"]


def load(name):
    frame = pd.read_csv(DATA / "nsl-kdd" / name, names=COLUMNS)
    frame["family"] = frame["attack"].map(families).where(frame["attack"] != "normal", "normal")
    return frame


train, test = load("KDDTrain+_20Percent.txt"), load("KDDTest+.txt")
features = COLUMNS[:-2]  # the label and the difficulty score are not features

# %% [markdown]
# ## A few labeled anomalies
# Normal training rows, plus 2% of the training DoS attacks as labeled (known) anomalies; the
# other training attacks are left out, so Probe, R2L and U2R are kinds the detector never saw.

# %%
rng = np.random.default_rng(0)
dos = train.index[train["family"] == "DoS"]
known = rng.choice(dos, size=len(dos) // 50, replace=False)
rows = train.index[train["family"] == "normal"].union(known)
X, y = train.loc[rows, features], train.loc[rows].index.isin(known).astype(int)
print(f"training rows: {len(X)} normal/unlabeled + {y.sum()} labeled DoS attacks")

# %% [markdown]
# ## Fit, score, threshold
# `detector="auto"` (the default) fits several detectors on the training rows alone, estimates
# each on held-out known anomalies and on synthetic anomalies of four shapes, and keeps the best
# one or a combination; `leaderboard_` shows what it chose. `contamination` sets `threshold_`.

# %%
start = time.perf_counter()
model = synthad.SynthAD(contamination=0.05, random_state=0).fit(X, y)
print(f"fitted in {time.perf_counter() - start:.1f} s")
for c in model.leaderboard_["candidates"]:
    print(f"  {c['name']:<20} estimate {c['estimate'] or float('nan'):.3f}  weight {c['weight']:.2f}")

scores = model.decision_function(test[features])  # higher = more anomalous
flags = model.predict(test[features])              # 1 = anomaly, at threshold_
truth = (test["family"] != "normal").to_numpy()
print(f"flagged {flags.sum()} of {len(test)} test connections; "
      f"precision {truth[flags == 1].mean():.3f}, recall {flags[truth].mean():.3f}")

# %% [markdown]
# ## Against PyOD's Isolation Forest
# PyOD's detectors take numbers only, so the text columns are one-hot encoded for it; it is
# unsupervised and trains on the same rows (it ignores `y`).

# %%
encoded = pd.get_dummies(pd.concat([X, test[features]]), columns=["protocol_type", "service", "flag"],
                         dtype=float)
iforest = IForest(contamination=0.05, random_state=0).fit(encoded.iloc[: len(X)].to_numpy())
iforest_scores = iforest.decision_function(encoded.iloc[len(X):].to_numpy())

report = []
for family in ["all", "DoS", "Probe", "R2L", "U2R"]:
    keep = np.ones(len(test), bool) if family == "all" else test["family"].isin(["normal", family]).to_numpy()
    report.append({
        "anomalies": family + (" (seen)" if family == "DoS" else "" if family == "all" else " (unseen)"),
        "synthad AUPR": average_precision_score(truth[keep], scores[keep]),
        "PyOD IForest AUPR": average_precision_score(truth[keep], iforest_scores[keep]),
    })
print(pd.DataFrame(report).round(3).to_string(index=False))

# %% [markdown]
# Neither detector wins everywhere. On this split (seed 0, 2% of DoS labeled) PyOD's Isolation
# Forest is ahead overall, through the unseen Probe attacks (0.97 against 0.81); the two are
# level on the labeled DoS kind, and synthad is level or ahead on R2L. `auto` chooses from the
# training rows only, and its estimate for unseen kinds comes from synthetic anomalies, which
# resemble Probe less than Isolation Forest's notion of isolation does. On the benchmark's
# nsl-kdd scenario (10% of DoS labeled, 5 seeds) the two are level (0.950 against 0.953);
# `docs/results.md` has every scenario.

# %% [markdown]
# ## Save, reload, use from the command line
# The model file is the one `synthad train` writes: `synthad score --model nsl-kdd.synthad ...`
# scores with it, and `synthad.load` reads a model trained by the command line. Pickling goes
# through the same file, so unpickling runs no code.

# %%
path = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "nsl-kdd.synthad"
model.save(path)
assert np.array_equal(synthad.load(path).decision_function(test[features].head(100)), scores[:100])
print(f"saved {path}")
