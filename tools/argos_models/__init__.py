"""Build small real Argos Translate packages from a synthetic corpus, for tests and demos.

    python -m tools.argos_models build --pairs en-fr,en-es,en-ar,fr-en --out models/

Modules in the order data flows: corpus -> tokenizer -> model -> convert -> package.
"""
