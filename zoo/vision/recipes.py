"""Training recipes of the vision families, registered by name.

The models name them in `register_model(recipe=..., dataset_recipes=...)`.
"""

from zoo.recipes import Recipe, register_recipe

register_recipe(
    Recipe(
        "cifar_resnet",
        description="He et al. 2016 section 4.2: SGD 0.1, momentum 0.9, weight decay 1e-4, "
        "batch 128, flip + 4-pixel pad-and-crop; cosine decay over 180 epochs in place of "
        "the paper's steps at 32k/48k iterations.",
        optimizer="sgd",
        learning_rate=0.1,
        reference_batch=128,
        momentum=0.9,
        weight_decay=1e-4,
        warmup_epochs=1,
        schedule="cosine",
        epochs=180,
        batch_size=128,
        augmentation="cifar",
        finetune_warmup_epochs=1,
        finetune_lr_scale=0.1,
    )
)
register_recipe(
    Recipe(
        "imagenet_resnet",
        description="ResNet v1.5 ImageNet recipe (Goyal et al. 2017 LR scaling): SGD 0.1 per 256, "
        "momentum 0.9, weight decay 1e-4, 5 warmup epochs, cosine, label smoothing 0.1, 90 epochs.",
        optimizer="sgd",
        learning_rate=0.1,
        reference_batch=256,
        momentum=0.9,
        weight_decay=1e-4,
        warmup_epochs=5,
        schedule="cosine",
        label_smoothing=0.1,
        epochs=90,
        batch_size=256,
        augmentation="imagenet",
        finetune_warmup_epochs=1,
        finetune_lr_scale=0.1,
    )
)
register_recipe(
    Recipe(
        "digits_resnet",
        description="The demo recipe: a CIFAR ResNet on the embedded 8x8 digits at their "
        "native size; SGD 0.05 at batch 64, 1 warmup epoch, cosine, 8 epochs, "
        "no augmentation (flipping digits changes their class).",
        optimizer="sgd",
        learning_rate=0.05,
        reference_batch=64,
        momentum=0.9,
        weight_decay=5e-4,
        warmup_epochs=1,
        schedule="cosine",
        epochs=8,
        batch_size=64,
        augmentation="none",
        # From weights (zoo train --weights): the head alone for 3 epochs, then
        # the whole network at a 10x lower rate, batch norm kept (tests/test_finetune.py).
        finetune_warmup_epochs=3,
        finetune_lr_scale=0.1,
    )
)
