"""Training recipes of the text families, registered by name.

The models name them in `register_model(recipe=..., dataset_recipes=...)`.
"""

from zoo.recipes import Recipe, get_recipe, register_recipe

register_recipe(
    Recipe(
        "lstm_text",
        description="Adam 1e-3 at batch 64 (square-root scaling for other batches), constant "
        "rate, no weight decay, 10 epochs: the usual recipe for LSTM text classifiers.",
        optimizer="adam",
        learning_rate=1e-3,
        reference_batch=64,
        lr_scaling="sqrt",
        weight_decay=0.0,
        schedule="constant",
        epochs=10,
        batch_size=64,
    )
)
register_recipe(
    Recipe(
        "transformer_text",
        description="AdamW 5e-4 at batch 64, weight decay 0.01, linear warmup over the first "
        "10% of steps then linear decay to 0, 10 epochs (a from-scratch encoder). From "
        "weights: one frozen-encoder epoch, then the whole network at the same rate (on "
        "256 sentiment texts from a masked-LM run, 0.66 where 0.1x the rate gave 0.51).",
        optimizer="adamw",
        learning_rate=5e-4,
        reference_batch=64,
        lr_scaling="sqrt",
        weight_decay=0.01,
        warmup_epochs=1,
        schedule="linear",
        epochs=10,
        batch_size=64,
        finetune_lr_scale=1.0,
    )
)
register_recipe(
    Recipe(
        "bert_text",
        description="BERT fine-tuning as published (Devlin et al. 2019): AdamW 3e-5 at batch 32, "
        "weight decay 0.01, linear warmup over 10% of steps then linear decay, 3 epochs.",
        optimizer="adamw",
        learning_rate=3e-5,
        reference_batch=32,
        lr_scaling="sqrt",
        weight_decay=0.01,
        warmup_epochs=0.3,
        schedule="linear",
        epochs=3,
        batch_size=32,
        # From a preset: the head alone for an epoch, then every layer at the
        # same (already fine-tuning) rate, decayed 0.9 per layer below the top.
        finetune_warmup_epochs=1,
        finetune_lr_scale=1.0,
        finetune_layer_decay=0.9,
    )
)
register_recipe(
    Recipe(
        "sentiment_bert",
        description="BERT trained from scratch (no preset) on the embedded sentiment set: "
        "AdamW 1e-3 at batch 64, 10% warmup, linear decay, 6 epochs.",
        optimizer="adamw",
        learning_rate=1e-3,
        reference_batch=64,
        lr_scaling="sqrt",
        weight_decay=0.01,
        warmup_epochs=0.6,
        schedule="linear",
        epochs=6,
        batch_size=64,
        # From weights trained by this recipe: a 10x lower rate after the
        # head's epoch, decayed 0.8 per layer (2 layers for bert_tiny).
        finetune_warmup_epochs=1,
        finetune_lr_scale=0.1,
        finetune_layer_decay=0.8,
    )
)
# The transformer_text rates, for 20 epochs of masked words: logits out, and
# no recipe metric (zoo.pretrain counts accuracy over the masked tokens only).
register_recipe(
    get_recipe("transformer_text").replace(
        name="masked_lm",
        description="Masked-language-model pretraining (Devlin et al. 2019's first task): "
        "AdamW 5e-4 at batch 64, weight decay 0.01, linear warmup over the first epoch then "
        "linear decay to 0, 20 epochs; the model outputs logits, accuracy is over the masked "
        "tokens.",
        epochs=20,
        from_logits=True,
        metrics=(),
    )
)
