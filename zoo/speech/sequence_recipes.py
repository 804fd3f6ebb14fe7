"""Training recipes of the sequence keyword spotters (`kwt_*`, `kws_lstm`), by name.

As for the other speech models, augmentation lives in the models' front
end, so the recipes' pipeline augmentation is `"none"`.
"""

from zoo.recipes import Recipe, get_recipe, register_recipe
from zoo.speech import recipes as _kws_recipes  # noqa: F401  (spoken_commands_kws)

register_recipe(
    Recipe(
        "speech_commands_kwt",
        description="Berg et al. 2021 (KWT, table 2 and the reference's flags): AdamW 1e-3 "
        "per 512, weight decay 0.1, 10 warmup epochs, cosine, label smoothing 0.1, "
        "batch 512, 140 epochs. The reference exempts the class token and position "
        "embeddings from decay; zoo's optimizer exempts only norms and biases.",
        optimizer="adamw",
        learning_rate=1e-3,
        reference_batch=512,
        weight_decay=0.1,
        warmup_epochs=10,
        schedule="cosine",
        label_smoothing=0.1,
        epochs=140,
        batch_size=512,
        augmentation="none",
    )
)
register_recipe(
    Recipe(
        "spoken_commands_kwt",
        description="Sized for the embedded set: the paper's optimizer on spoken_commands "
        "(4,800 clips) at batch 64, AdamW 1e-3 with 2 warmup epochs, cosine over 30 epochs, "
        "weight decay 0.05, label smoothing 0.1 (the paper's 140 epochs at batch 512 fit "
        "a 20x larger set). kwt_1: 0.8933 on the held-out voices (seed 0; 22 min, about "
        "40 s an epoch on 2 CPU cores).",
        optimizer="adamw",
        learning_rate=1e-3,
        reference_batch=64,
        weight_decay=0.05,
        warmup_epochs=2,
        schedule="cosine",
        label_smoothing=0.1,
        epochs=30,
        batch_size=64,
        augmentation="none",
    )
)
register_recipe(
    Recipe(
        "speech_commands_lstm",
        description="Zhang et al. 2017 (Hello Edge): Adam at batch 100, 10k steps each at "
        "5e-4, 1e-4, 2e-5 (about 35 epochs of speech_commands); cosine decay from 5e-4 in "
        "place of the steps.",
        optimizer="adam",
        learning_rate=5e-4,
        reference_batch=100,
        weight_decay=0.0,
        schedule="cosine",
        epochs=35,
        batch_size=100,
        augmentation="none",
    )
)
# The kws ResNets' short spoken_commands schedule, three more epochs for the LSTM.
register_recipe(
    get_recipe("spoken_commands_kws").replace(
        name="spoken_commands_lstm",
        description="CI-sized: the embedded spoken_commands at batch 64, Adam 3e-3 with one "
        "warmup epoch and cosine decay over 15 epochs: 85.7% on the held-out voices (train "
        "97.8%; 18 min on 2 shared CPU cores).",
        epochs=15,
    )
)
