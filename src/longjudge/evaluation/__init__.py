"""Evaluation of reward methods: agreement with people, Kendall tau against a gold ranking,
Best-of-N curves, LongBench-Chat-style judging, and the HTML report.

The modules are imported on use (``from longjudge.evaluation.metrics import ...``); nothing
here pulls scipy or matplotlib until a function needs it.

=====================  ================================================================
``metrics``            pure functions: pairwise accuracy, Kendall tau, Spearman rho, bootstrap
``human``              the human-preference JSONL format and its loader
``faithbench``         FaithBench span labels -> human preferences, examples, candidates
``agreement``          accuracy of totals, dimensions and ablations against human pairs
``ranking``            Kendall tau against a gold run as a function of N
``best_of_n``          gold score of each scorer's best and worst picks by N
``longbench_chat``     1-10 ratings against a reference answer, as a run directory
``report``             one self-contained HTML page about a run
=====================  ================================================================
"""

__all__: list[str] = []
