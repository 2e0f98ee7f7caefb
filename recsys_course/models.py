"""The names the notebooks call as `models.…`, gathered from the modules that do each job.

Building is `recsys_course.builders`, training and scoring `recsys_course.training`, reading data
`recsys_course.data`, ranking `recsys_course.ranking`. This module only gathers them, so that notebooks (and
learners' own copies of them) keep one short import: `from recsys_course import models`.
"""
from recsys_course.builders import (Crosses, builtin_dcn, builtin_dlrm, dcn, dcn_feature_order, dlrm,
                                    dlrm_inputs, hashed_cross, standard_models, strongest_crosses)
from recsys_course.data import load, read_processed
from recsys_course.ranking import item_features, rank_for_user
from recsys_course.training import FitResult, compare, compile_model, fit_evaluate, predict, reload_weights, results_table

__all__ = ["Crosses", "FitResult", "builtin_dcn", "builtin_dlrm", "compare", "compile_model", "dcn",
           "dcn_feature_order", "dlrm", "dlrm_inputs", "fit_evaluate", "hashed_cross", "item_features", "load",
           "predict", "rank_for_user", "read_processed", "reload_weights", "results_table", "standard_models",
           "strongest_crosses"]
