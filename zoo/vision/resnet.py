"""ResNet backbones (He et al. 2016) and their registered classifiers.

Two shapes of the family:

- CIFAR ResNets (`resnet20` ... `resnet110`, paper section 4.2): a 3x3 stem,
  three stages of basic blocks with 16/32/64 filters and parameter-free
  zero-padding shortcuts, so parameter counts match the paper's table.
- ImageNet ResNets v1.5 (`resnet18` ... `resnet152`): a 7x7 stem and max pool,
  four stages, stride on the 3x3 convolution of bottleneck blocks, projection
  shortcuts and no convolution bias before batch norm, as in torchvision
  (`resnet50` has 25,557,032 trainable parameters at 1000 classes).

`preact=True` builds the pre-activation (v2) variant of either shape.

Example:

>>> model = zoo.get_model("resnet56", num_classes=100, preact=True)
>>> backbone = ResNetBackbone.imagenet(depth=50, input_shape=(160, 160, 3))
"""

from __future__ import annotations

import keras

from zoo import validation
from zoo.inputs import ImageInput
from zoo.layers import ZeroPadShortcut
from zoo.models import Backbone
from zoo.registry import register_model
from zoo.vision.classifier import ImageClassifier
from zoo.vision.timm_weights import TimmResNet

BLOCKS = ("basic", "bottleneck")
STEMS = ("cifar", "imagenet")
SHORTCUTS = ("zero_pad", "projection")

# depth -> (block type, blocks per stage)
IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
CIFAR_DEPTHS = (20, 32, 44, 56, 110)
# Batch norm as in the reference implementations (PyTorch defaults): faster
# to settle than Keras' momentum 0.99 on short schedules.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="zoo")
class ResNetBackbone(Backbone):
    """A residual network mapping normalized images to a feature map.

    Args:
        input_shape: tuple of int. `(height, width, channels)`.
        stage_filters: sequence of int. Filters of each stage (before the
            bottleneck expansion of 4).
        stage_blocks: sequence of int. Residual blocks in each stage.
        block: str. `"basic"` (two 3x3 convs) or `"bottleneck"` (1x1-3x3-1x1).
        stem: str. `"cifar"` (3x3 conv, stride 1) or `"imagenet"` (7x7 conv,
            stride 2, then 3x3 max pool, stride 2).
        shortcut: str. `"zero_pad"` (parameter-free, option A) or
            `"projection"` (1x1 conv + batch norm, option B) where shapes change.
        preact: bool. Pre-activation (v2) blocks: BN-ReLU before each conv.
        sync_batchnorm: bool. Synchronize batch statistics across replicas
            under a `tf.distribute` strategy (as one large batch would compute).
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> backbone = ResNetBackbone.cifar(depth=20)
    >>> backbone.output_shape
    (None, 8, 8, 64)
    """

    def __init__(
        self,
        input_shape,
        stage_filters,
        stage_blocks,
        block="basic",
        stem="cifar",
        shortcut="projection",
        preact=False,
        sync_batchnorm=False,
        **kwargs,
    ):
        validation.check_choice("block", block, BLOCKS)
        validation.check_bool("preact", preact)
        validation.check_bool("sync_batchnorm", sync_batchnorm)
        validation.check_choice("stem", stem, STEMS)
        validation.check_choice("shortcut", shortcut, SHORTCUTS)
        stage_filters = [validation.check_positive_int("stage_filters", f) for f in stage_filters]
        stage_blocks = [validation.check_positive_int("stage_blocks", b) for b in stage_blocks]
        if len(stage_filters) != len(stage_blocks) or not stage_filters:
            raise validation.InvalidArgumentError(
                "stage_filters and stage_blocks must be non-empty and of equal length. "
                f"Received: stage_filters={stage_filters}, stage_blocks={stage_blocks}."
            )
        stem_stride = 4 if stem == "imagenet" else 1
        input_shape = validation.check_image_shape(
            input_shape, min_size=stem_stride * 2 ** (len(stage_filters) - 1)
        )
        graph = _GraphBuilder(sync=sync_batchnorm, preact=preact, shortcut=shortcut)

        inputs = keras.Input(shape=input_shape, name="normalized_images")
        x = graph.stem(inputs, stem)
        for stage, (filters, blocks) in enumerate(zip(stage_filters, stage_blocks)):
            for index in range(blocks):
                strides = 2 if stage > 0 and index == 0 else 1
                name = f"stage{stage + 1}_block{index + 1}"
                if block == "basic":
                    x = graph.basic_block(x, filters, strides, name)
                else:
                    x = graph.bottleneck_block(x, filters, strides, name)
        if preact:
            # v2 blocks end on an addition; normalize the sum once at the end.
            x = graph.bn_relu(x, "post")
        super().__init__(inputs=inputs, outputs=x, **kwargs)
        self._remember_config(
            input_shape=list(input_shape),
            stage_filters=stage_filters,
            stage_blocks=stage_blocks,
            block=block,
            stem=stem,
            shortcut=shortcut,
            preact=preact,
            sync_batchnorm=sync_batchnorm,
        )
        self.stage_filters = stage_filters
        self.stage_blocks = stage_blocks
        self.block = block
        self.stem = stem
        self.shortcut = shortcut
        self.preact = preact
        self.sync_batchnorm = sync_batchnorm

    @classmethod
    def cifar(cls, depth=20, input_shape=(32, 32, 3), **kwargs):
        """The 6n+2-layer CIFAR network of the paper's section 4.2.

        Args:
            depth: int. One of 20, 32, 44, 56, 110 (any 6n+2 works).
            input_shape: tuple of int. `(height, width, channels)`.
            **kwargs: other `ResNetBackbone` arguments (`preact`, ...).
        """
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise validation.InvalidArgumentError(
                f"CIFAR ResNet depth must be 6n+2 (e.g. {CIFAR_DEPTHS}). Received: depth={depth!r}."
            )
        kwargs.setdefault("shortcut", "zero_pad")
        return cls(
            input_shape=input_shape,
            stage_filters=(16, 32, 64),
            stage_blocks=((depth - 2) // 6,) * 3,
            block="basic",
            stem="cifar",
            **kwargs,
        )

    @classmethod
    def imagenet(cls, depth=50, input_shape=(224, 224, 3), **kwargs):
        """The ImageNet network (v1.5) of depth 18, 34, 50, 101 or 152.

        Args:
            depth: int. One of 18, 34, 50, 101, 152.
            input_shape: tuple of int. `(height, width, channels)`, >= 32.
            **kwargs: other `ResNetBackbone` arguments (`preact`, ...).
        """
        validation.check_choice("depth", depth, tuple(IMAGENET_DEPTHS))
        block, blocks = IMAGENET_DEPTHS[depth]
        return cls(
            input_shape=input_shape,
            stage_filters=(64, 128, 256, 512),
            stage_blocks=blocks,
            block=block,
            stem="imagenet",
            shortcut="projection",
            **kwargs,
        )


class _GraphBuilder:
    """Adds ResNet layers to a functional graph; used once per backbone."""

    def __init__(self, sync, preact, shortcut):
        self.sync = sync
        self.preact = preact
        self.shortcut = shortcut

    def bn(self, x, name):
        return keras.layers.BatchNormalization(
            momentum=BN_MOMENTUM,
            epsilon=BN_EPSILON,
            synchronized=self.sync,
            name=f"{name}_bn",
        )(x)

    def bn_relu(self, x, name):
        return keras.layers.ReLU(name=f"{name}_relu")(self.bn(x, name))

    @staticmethod
    def conv(x, filters, kernel, strides, name):
        if strides > 1 and kernel > 1:
            # Symmetric padding, as PyTorch and the paper; Keras "same" pads
            # bottom/right only when striding.
            x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
            padding = "valid"
        else:
            padding = "same"
        return keras.layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding=padding,
            use_bias=False,
            kernel_initializer="he_normal",
            name=f"{name}_conv",
        )(x)

    def stem(self, x, stem):
        preact = self.preact
        if stem == "cifar":
            x = self.conv(x, 16, 3, 1, "stem")
            return x if preact else self.bn_relu(x, "stem")
        x = self.conv(x, 64, 7, 2, "stem")
        if not preact:
            x = self.bn_relu(x, "stem")
        x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
        return keras.layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)

    def shortcut_branch(self, x, activated, filters, strides, name):
        """Identity when shapes match, else option A or B."""
        if strides == 1 and x.shape[-1] == filters:
            return x
        if self.shortcut == "zero_pad":
            return ZeroPadShortcut(filters, strides, name=f"{name}_shortcut")(x)
        # v2 projects the activated input; v1 projects and normalizes the input.
        y = self.conv(activated, filters, 1, strides, f"{name}_shortcut")
        return y if self.preact else self.bn(y, f"{name}_shortcut")

    def residual(self, x, convs, filters_out, strides, name):
        """Runs `convs` [(filters, kernel, strides)] as a v1 or v2 residual block."""
        preact = self.preact
        activated = self.bn_relu(x, f"{name}_pre") if preact else x
        shortcut = self.shortcut_branch(x, activated, filters_out, strides, name)
        y = activated
        for i, (filters, kernel, conv_strides) in enumerate(convs):
            part = f"{name}_{i + 1}"
            if preact and i > 0:
                y = self.bn_relu(y, part)
            y = self.conv(y, filters, kernel, conv_strides, part)
            if not preact:
                y = self.bn(y, part)
                if i < len(convs) - 1:
                    y = keras.layers.ReLU(name=f"{part}_relu")(y)
        y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
        return y if preact else keras.layers.ReLU(name=f"{name}_out")(y)

    def basic_block(self, x, filters, strides, name):
        return self.residual(x, [(filters, 3, strides), (filters, 3, 1)], filters, strides, name)

    def bottleneck_block(self, x, filters, strides, name):
        # v1.5: the stride sits on the 3x3 convolution, not the first 1x1.
        convs = [(filters, 1, 1), (filters, 3, strides), (filters * 4, 1, 1)]
        return self.residual(x, convs, filters * 4, strides, name)


def resnet_cifar(
    depth,
    num_classes=10,
    input_shape=(32, 32, 3),
    preact=False,
    dropout=0.0,
    classifier_activation="softmax",
    sync_batchnorm=False,
    mean=None,
    std=None,
):
    """Builds a CIFAR ResNet classifier (`resnet20` ... `resnet110`).

    Args:
        depth: int. 6n+2 layers; fixed by the registered name.
        num_classes: int. Output classes.
        input_shape: tuple of int. `(height, width, channels)`, height and
            width >= 4; any channel count.
        preact: bool. Pre-activation (v2) blocks.
        dropout: float. Dropout before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        sync_batchnorm: bool. Synchronized batch norm under tf.distribute.
        mean: sequence of float or None. Per-channel normalization mean.
        std: sequence of float or None. Per-channel normalization std.

    Example:

    >>> model = resnet_cifar(20, num_classes=10)
    """
    backbone = ResNetBackbone.cifar(
        depth=depth,
        input_shape=input_shape,
        preact=preact,
        sync_batchnorm=sync_batchnorm,
        name=f"resnet{depth}{'v2' if preact else ''}_backbone",
    )
    return ImageClassifier(
        backbone,
        num_classes=num_classes,
        dropout=dropout,
        classifier_activation=classifier_activation,
        mean=mean,
        std=std,
        name=f"resnet{depth}{'v2' if preact else ''}",
    )


def resnet_imagenet(
    depth,
    num_classes=1000,
    input_shape=(224, 224, 3),
    preact=False,
    dropout=0.0,
    classifier_activation="softmax",
    sync_batchnorm=False,
    mean=None,
    std=None,
):
    """Builds an ImageNet ResNet v1.5 classifier (`resnet18` ... `resnet152`).

    Args:
        depth: int. 18, 34, 50, 101 or 152; fixed by the registered name.
        num_classes: int. Output classes.
        input_shape: tuple of int. `(height, width, channels)`, height and
            width >= 32; any channel count.
        preact: bool. Pre-activation (v2) blocks.
        dropout: float. Dropout before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        sync_batchnorm: bool. Synchronized batch norm under tf.distribute.
        mean: sequence of float or None. Per-channel normalization mean.
        std: sequence of float or None. Per-channel normalization std.

    Example:

    >>> model = resnet_imagenet(50)
    """
    backbone = ResNetBackbone.imagenet(
        depth=depth,
        input_shape=input_shape,
        preact=preact,
        sync_batchnorm=sync_batchnorm,
        name=f"resnet{depth}{'v2' if preact else ''}_backbone",
    )
    return ImageClassifier(
        backbone,
        num_classes=num_classes,
        dropout=dropout,
        classifier_activation=classifier_activation,
        mean=mean,
        std=std,
        name=f"resnet{depth}{'v2' if preact else ''}",
    )


_PAPER = "He et al. 2016, Deep Residual Learning for Image Recognition"
_CIFAR_PARAMS = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M"}

for _depth in CIFAR_DEPTHS:
    register_model(
        f"resnet{_depth}",
        family="resnet",
        task="image_classification",
        input=ImageInput(),
        fixed_kwargs={"depth": _depth},
        default_kwargs={"num_classes": 10, "input_shape": (32, 32, 3)},
        default_dataset="cifar10",
        recipe="cifar_resnet",
        dataset_recipes={"digits": "digits_resnet"},
        tags=("cifar", "resnet_v1"),
        description=f"CIFAR ResNet-{_depth}, 3 stages of basic blocks "
        f"({_CIFAR_PARAMS[_depth]} params).",
        paper=_PAPER + ", section 4.2",
        tiny_kwargs={"input_shape": (8, 8, 1), "num_classes": 3},
    )(resnet_cifar)

for _depth in IMAGENET_DEPTHS:
    register_model(
        f"resnet{_depth}",
        family="resnet",
        task="image_classification",
        input=ImageInput(),
        fixed_kwargs={"depth": _depth},
        default_kwargs={"num_classes": 1000, "input_shape": (224, 224, 3)},
        default_dataset="imagenet2012",
        recipe="imagenet_resnet",
        dataset_recipes={"digits": "digits_resnet"},
        tags=("imagenet", "resnet_v1.5"),
        description=f"ImageNet ResNet-{_depth} v1.5 ({IMAGENET_DEPTHS[_depth][0]} blocks).",
        paper=_PAPER + "; v1.5 stride placement as in torchvision",
        tiny_kwargs={"input_shape": (32, 32, 3), "num_classes": 3},
        # ImageNet weights published by timm (pretrained/manifest.json, or a local folder).
        weight_sources={"timm": TimmResNet()},
    )(resnet_imagenet)
