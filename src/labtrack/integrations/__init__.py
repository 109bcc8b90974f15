"""Framework integrations: one line in your training code logs it to labtrack.

========================================  ===============================================
framework                                 use
========================================  ===============================================
PyTorch Lightning                         ``Trainer(logger=LabtrackLogger(...))`` from
                                          ``labtrack.integrations.lightning``
Hugging Face Transformers                 ``TrainingArguments(report_to="labtrack")``
                                          after ``import labtrack.integrations.transformers``,
                                          or ``callbacks=[LabtrackCallback()]``
Keras 3                                   ``model.fit(..., callbacks=[LabtrackCallback()])``
                                          from ``labtrack.integrations.keras``
XGBoost                                   ``callbacks=[LabtrackCallback()]`` from
                                          ``labtrack.integrations.xgboost``
LightGBM                                  ``callbacks=[labtrack_callback()]`` from
                                          ``labtrack.integrations.lightgbm``
scikit-learn                              ``labtrack.sklearn.autolog()`` or
                                          ``labtrack.sklearn.fit(model, X, y, eval_sets=...)``
PyTorch                                   ``labtrack.watch(model)`` (gradients, parameters)
========================================  ===============================================

Each module imports its framework when it is imported, and ``import labtrack``
imports none of them. They use only the public Run API, so they log to the
active run (or start one) and work in ``import labtrack as wandb`` scripts.
"""
