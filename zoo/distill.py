"""Knowledge distillation: a student learns from a trained teacher's soft targets.

Hinton et al. 2015: the student's loss mixes the cross-entropy on the labels
with the KL divergence between the teacher's and the student's class
distributions at temperature T (scaled by T^2 so its gradients keep their
size as T changes). A small model trained so often beats the same model
trained on the labels alone, which is what makes it worth deploying.

`Distiller` is Keras' own `keras.distillation.Distiller` with its
`LogitsDistillation` loss, made to fit zoo's models:

- Keras' loss divides the *final outputs* by T, so they must be logits,
  while zoo classifiers end in a softmax. `logits_view` gives the model up to
  its `logits` layer (the same layers and weights, no copy), and the
  distiller trains that view; the hard-label loss is then computed from
  logits.
- `save()` (what `ModelCheckpoint` calls) saves the student as built, softmax
  included: the teacher is an input of training, not part of its result.
- `backbone` is the student's, so fine-tuning (`zoo.finetune`) freezes and
  unfreezes the student's backbone.

Example:

>>> teacher = zoo.get_model("kws_res8", weights="spoken_commands")
>>> student = zoo.get_model("kws_lstm", num_classes=12)
>>> distiller = Distiller(teacher, student, temperature=4.0, student_loss_weight=0.5)
>>> recipe = zoo.get_recipe("spoken_commands_lstm").replace(from_logits=True)
>>> recipe.compile(distiller, steps_per_epoch=len(train))
>>> distiller.fit(train, validation_data=val, epochs=recipe.epochs)
>>> student.save("student.keras")      # a plain zoo model, softmax output
"""

from __future__ import annotations

import keras

from zoo import errors, validation

DEFAULT_TEMPERATURE = 4.0
DEFAULT_STUDENT_LOSS_WEIGHT = 0.5
_LINEAR = ("linear", None)


def logits_view(model) -> keras.Model:
    """The model up to its logits: the same layers and weights, float32 output.

    A zoo classifier's head is `logits` (Dense) then `predictions`
    (the activation); a model whose output is already linear is returned
    as it is.

    Args:
        model: keras.Model. A zoo classifier, or a functional model with
            linear outputs.

    Raises:
        InvalidArgumentError: the model has neither a `logits` layer nor a
            linear output.

    Example:

    >>> view = logits_view(zoo.get_model("resnet20", num_classes=10))
    >>> view.output.dtype
    'float32'
    """
    if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
        raise errors.InvalidArgumentError(
            f"Distillation needs functional Keras models. Received: {type(model).__name__}; "
            f"accepted: zoo models (zoo.get_model) and other functional keras.Models."
        )
    names = {layer.name for layer in model.layers}
    if "logits" in names:
        logits = model.get_layer("logits").output
        # Under mixed precision the Dense computes in float16/bfloat16; the
        # distillation loss divides by T and takes a softmax: keep it float32.
        logits = keras.layers.Activation("linear", dtype="float32", name="logits_float32")(logits)
        return keras.Model(model.inputs, logits, name=f"{model.name}_logits")
    if _output_activation(model) in _LINEAR:
        return model
    raise errors.InvalidArgumentError(
        f"Distillation needs the logits of model {model.name!r}, which ends in a "
        f"{_output_activation(model)!r} activation and has no `logits` layer. Received: "
        f"{type(model).__name__}; accepted: zoo classifiers, or a model built with "
        f"classifier_activation=None."
    )


def _output_activation(model):
    """The name of the activation of the model's last layer, if it has one."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", activation)


@keras.saving.register_keras_serializable(package="zoo")
class Distiller(keras.distillation.Distiller):
    """Trains `student` on labels and on `teacher`'s temperature-softened outputs.

    The training loss is `w * CE(labels, student) + (1 - w) * T^2 *
    KL(softmax(teacher_logits / T) || softmax(student_logits / T))`, with
    `w = student_loss_weight`. Compile it with a loss on logits
    (`Recipe.replace(from_logits=True)`, or
    `SparseCategoricalCrossentropy(from_logits=True)`); its metrics are the
    student's, and its logs add `student_loss` and `distillation_loss`.

    The teacher is frozen and runs in inference mode. The student's own
    weights are trained (the distiller holds a view of them), so after `fit`
    `student` is the trained model; `save()` saves it.

    Args:
        teacher: keras.Model. A trained classifier over the same classes, in
            the same order, taking the same inputs as the student.
        student: keras.Model. The model to train (a zoo classifier).
        temperature: float. Softens both distributions (> 0); 1 is the plain
            softmax. Hinton et al. use 2-20; 4 is a common choice.
        student_loss_weight: float in [0, 1]. Weight of the hard-label loss;
            0 trains on the teacher alone.
        **kwargs: passed to `keras.Model` (`name`).

    Raises:
        InvalidArgumentError: a bad temperature or weight, or a teacher whose
            inputs or number of classes differ from the student's.

    Example:

    >>> distiller = Distiller(teacher, student, temperature=4.0)
    >>> distiller.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ...                   metrics=["accuracy"])
    >>> distiller.fit(train, epochs=3)
    """

    def __init__(
        self,
        teacher,
        student,
        temperature=DEFAULT_TEMPERATURE,
        student_loss_weight=DEFAULT_STUDENT_LOSS_WEIGHT,
        **kwargs,
    ):
        temperature, student_loss_weight = check_settings(temperature, student_loss_weight)
        _check_compatible(teacher, student)
        kwargs.setdefault("name", "distiller")
        super().__init__(
            teacher=logits_view(teacher),
            student=logits_view(student),
            # A `KLDivergence` instance, not Keras' default "kl_divergence": the
            # string resolves to the plain function, which LogitsDistillation
            # (Keras 3.15) then applies to the scaled logits as if they were
            # probabilities, without the softmax. Measured: a student taught
            # that way stays at chance on digits.
            distillation_losses=keras.distillation.LogitsDistillation(
                temperature=temperature, loss=keras.losses.KLDivergence()
            ),
            student_loss_weight=student_loss_weight,
            **kwargs,
        )
        # Keras' loss objects divide each replica's loss by the number of
        # replicas (tf.distribute sums the gradients), and Keras' Distiller
        # logs its parts as computed: under MirroredStrategy over N devices
        # `student_loss`, `distillation_loss` and `total_loss` would show 1/N
        # of their value. Its trackers are Means; these log the true figure.
        for tracker in (
            self.student_loss_tracker,
            self.distillation_loss_tracker,
            self.total_loss_tracker,
        ):
            tracker.__class__ = _AcrossReplicasMean
        # Keras' Distiller freezes what it is given, the view; the teacher's
        # own flag follows, so the teacher looks frozen to its owner too.
        teacher.trainable = False
        self.teacher_model = teacher
        self.student_model = student
        self.temperature = temperature
        # Every variable exists (both models are built): a resumed run loads
        # its backup into the distiller before the first step, which Keras
        # refuses for a subclassed model it has not seen called.
        self.built = True

    @property
    def backbone(self):
        """The student's backbone (what fine-tuning freezes for the warm-up)."""
        return getattr(self.student_model, "backbone", None)

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves the student as built (softmax output), not the distiller.

        Args:
            filepath: str or Path. A `.keras` file.
            overwrite: bool. Replace an existing file.
            **kwargs: passed to `keras.Model.save`.
        """
        return self.student_model.save(filepath, overwrite=overwrite, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "teacher": keras.saving.serialize_keras_object(self.teacher_model),
            "student": keras.saving.serialize_keras_object(self.student_model),
            "temperature": self.temperature,
            "student_loss_weight": self.student_loss_weight,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class _AcrossReplicasMean(keras.metrics.Mean):
    """A `Mean` of a loss that Keras scaled down for tf.distribute, scaled back."""

    def update_state(self, values, sample_weight=None):
        import tensorflow as tf  # here: the scaling exists on the TensorFlow backend only

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            values = keras.ops.multiply(values, float(replicas))
        return super().update_state(values, sample_weight=sample_weight)


def check_settings(temperature, student_loss_weight) -> tuple[float, float]:
    """Checks the distillation settings; returns them as floats.

    Args:
        temperature: float. > 0.
        student_loss_weight: float. In [0, 1].

    Raises:
        InvalidArgumentError: a value out of range or not a number.

    Example:

    >>> check_settings(4, 0.5)
    (4.0, 0.5)
    """
    number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if not number or temperature <= 0:
        raise errors.InvalidArgumentError(
            f"Distillation temperature must be a number > 0. Received: temperature={temperature!r}."
        )
    weight = validation.check_fraction(
        "student_loss_weight", student_loss_weight, upper_inclusive=True
    )
    return float(temperature), weight


def _check_compatible(teacher, student) -> None:
    """Same input shapes and dtypes, same number of classes, or a clear error."""
    for role, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
            raise errors.InvalidArgumentError(
                f"Distillation needs functional Keras models. Received: {role} of type "
                f"{type(model).__name__}; accepted: zoo models and other functional keras.Models."
            )

    def signature(model):
        return [(tuple(t.shape[1:]), str(t.dtype)) for t in model.inputs]

    if signature(teacher) != signature(student):
        raise errors.InvalidArgumentError(
            f"The teacher and the student must take the same inputs. Received: teacher "
            f"{teacher.name!r} takes {signature(teacher)}, student {student.name!r} takes "
            f"{signature(student)} (shape without the batch, dtype); build the student for the "
            f"teacher's input (e.g. --set input_shape=... or the same sample rate)."
        )
    classes = (teacher.outputs[0].shape[-1], student.outputs[0].shape[-1])
    if classes[0] != classes[1]:
        raise errors.InvalidArgumentError(
            f"The teacher and the student must have the same classes. Received: teacher "
            f"{teacher.name!r} has {classes[0]} outputs, student {student.name!r} has "
            f"{classes[1]}; accepted: a teacher trained on the student's dataset."
        )
