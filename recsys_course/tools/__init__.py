"""The maintainers' tools: lab generation, notebook execution, progress reports, bench figures and README rendering. Nothing a learner imports."""
