"""scikit-learn's estimator checks, run one by one.

scikit-learn's outlier detectors return -1 for outliers and +1 for inliers; PyOD's — and
synthad's, which follows PyOD so that PyOD users can swap it in — return 1 for anomalies and 0
for normal rows. The checks that test the -1/+1 labels fail by design and are listed below;
every other check must pass (the -1/+1 checks are two, one of them runs twice).

The generic checks also pass a classifier's ``y`` (0, 1, 2, ... from make_blobs) to ``fit``,
which scikit-learn's own outlier detectors ignore. SynthAD reads ``y`` — 1 marks a known
anomaly — and refuses any other labels rather than guessing what they mean
(``test_data_safety.py::test_labels_must_be_zero_or_one``), so the checks run on a subclass that
fits without ``y``: everything else they test (dtypes, memmaps, sample order, cloning, ...) is
SynthAD's own code.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from synthad import SynthAD

PYOD_LABELS = "PyOD's labels: 1 = anomaly, 0 = normal (scikit-learn's are -1 / +1)"


class UnsupervisedSynthAD(SynthAD):
    """SynthAD fitted without the classifier labels the generic checks pass."""

    def fit(self, X, y=None, kinds=None):
        return super().fit(X)


@parametrize_with_checks(
    [UnsupervisedSynthAD(detector="gbt", trees=10, random_state=0)],
    expected_failed_checks=lambda estimator: {
        "check_outliers_train": PYOD_LABELS,
        "check_outliers_fit_predict": PYOD_LABELS,
    },
)
def test_sklearn_estimator_check(estimator, check):
    check(estimator)
