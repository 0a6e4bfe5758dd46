"""scikit-learn's estimator checks, run one by one.

scikit-learn's outlier detectors return -1 for outliers and +1 for inliers; PyOD's — and
synthad's, which follows PyOD so that PyOD users can swap it in — return 1 for anomalies and 0
for normal rows. The checks that test the -1/+1 labels fail by design and are listed below;
every other check must pass (the -1/+1 checks are two, one of them runs twice).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from synthad import SynthAD

PYOD_LABELS = "PyOD's labels: 1 = anomaly, 0 = normal (scikit-learn's are -1 / +1)"


@parametrize_with_checks(
    [SynthAD(detector="gbt", trees=10, random_state=0)],
    expected_failed_checks=lambda estimator: {
        "check_outliers_train": PYOD_LABELS,
        "check_outliers_fit_predict": PYOD_LABELS,
    },
)
def test_sklearn_estimator_check(estimator, check):
    check(estimator)
