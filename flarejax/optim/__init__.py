"""Optimizers: the ``Optimizer`` base class, the built-in optimizers, transforms and interop."""

from ._base import Optimizer
from ._interop._optax import OptaxOptimizer, from_optax, to_optax
from ._interop._summary import state_bytes, state_ratio, summary
from ._optimizers._adabelief import AdaBelief
from ._optimizers._adadelta import Adadelta
from ._optimizers._adafactor import Adafactor
from ._optimizers._adagrad import Adagrad
from ._optimizers._adam import Adam
from ._optimizers._adamax import Adamax
from ._optimizers._adamaxw import AdamaxW
from ._optimizers._adamw import AdamW
from ._optimizers._adan import Adan
from ._optimizers._ademamix import AdEMAMix
from ._optimizers._adopt import ADOPT
from ._optimizers._amsgrad import AMSGrad
from ._optimizers._dpsgd import DPSGD
from ._optimizers._fromage import Fromage
from ._optimizers._galore import GaLore
from ._optimizers._lamb import LAMB
from ._optimizers._lars import LARS
from ._optimizers._lbfgs import LBFGS
from ._optimizers._lion import Lion
from ._optimizers._madgrad import MADGRAD
from ._optimizers._momo import MoMo, MoMoAdam
from ._optimizers._muon import Muon
from ._optimizers._nadam import NAdam
from ._optimizers._nadamw import NAdamW
from ._optimizers._noisy_sgd import NoisySGD
from ._optimizers._novograd import NovoGrad
from ._optimizers._optimistic_gd import OptimisticGD
from ._optimizers._polyak_sgd import PolyakSGD
from ._optimizers._prodigy import Prodigy
from ._optimizers._radam import RAdam
from ._optimizers._rmsprop import RMSProp
from ._optimizers._rprop import Rprop
from ._optimizers._schedule_free import ScheduleFreeAdamW
from ._optimizers._sgd import SGD
from ._optimizers._sign_sgd import SignSGD
from ._optimizers._signum import Signum
from ._optimizers._sm3 import SM3
from ._optimizers._sophia import Sophia
from ._optimizers._yogi import Yogi
from ._transforms._agc import AdaptiveGradClip
from ._transforms._centralize import Centralize
from ._transforms._clip import Clip, ClipByBlockRMS, ClipByGlobalNorm
from ._transforms._constrain import KeepParamsNonnegative
from ._transforms._noise import AddNoise
from ._transforms._scale import Scale, ScaleByLearningRate
from ._transforms._weight_decay import AddDecayedWeights
from ._transforms._zero_nans import ZeroNans
from ._wrappers._chain import Chain
from ._wrappers._ema import EMA
from ._wrappers._lookahead import Lookahead
from ._wrappers._mask import Freeze, Masked
from ._wrappers._master import MasterWeights
from ._wrappers._mechanic import Mechanic
from ._wrappers._multi_steps import MultiSteps
from ._wrappers._partition import Partition
from ._wrappers._plateau import ReduceLROnPlateau
from ._wrappers._sam import SAM
from ._wrappers._skip import SkipLargeUpdates, SkipNonFinite

__all__ = [
    "ADOPT",
    "DPSGD",
    "EMA",
    "LAMB",
    "LARS",
    "LBFGS",
    "MADGRAD",
    "SAM",
    "SGD",
    "SM3",
    "AMSGrad",
    "AdEMAMix",
    "AdaBelief",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "AdamaxW",
    "Adan",
    "AdaptiveGradClip",
    "AddDecayedWeights",
    "AddNoise",
    "Centralize",
    "Chain",
    "Clip",
    "ClipByBlockRMS",
    "ClipByGlobalNorm",
    "Freeze",
    "Fromage",
    "GaLore",
    "KeepParamsNonnegative",
    "Lion",
    "Lookahead",
    "Masked",
    "MasterWeights",
    "Mechanic",
    "MoMo",
    "MoMoAdam",
    "MultiSteps",
    "Muon",
    "NAdam",
    "NAdamW",
    "NoisySGD",
    "NovoGrad",
    "OptaxOptimizer",
    "OptimisticGD",
    "Optimizer",
    "Partition",
    "PolyakSGD",
    "Prodigy",
    "RAdam",
    "RMSProp",
    "ReduceLROnPlateau",
    "Rprop",
    "Scale",
    "ScaleByLearningRate",
    "ScheduleFreeAdamW",
    "SignSGD",
    "Signum",
    "SkipLargeUpdates",
    "SkipNonFinite",
    "Sophia",
    "Yogi",
    "ZeroNans",
    "from_optax",
    "state_bytes",
    "state_ratio",
    "summary",
    "to_optax",
]
