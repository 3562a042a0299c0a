"""Optimizers: the ``Optimizer`` base class, the built-in optimizers, transforms and interop."""

from ._adabelief import AdaBelief
from ._adadelta import Adadelta
from ._adafactor import Adafactor
from ._adagrad import Adagrad
from ._adam import Adam
from ._adamax import Adamax
from ._adamaxw import AdamaxW
from ._adamw import AdamW
from ._adan import Adan
from ._ademamix import AdEMAMix
from ._adopt import ADOPT
from ._agc import AdaptiveGradClip
from ._amsgrad import AMSGrad
from ._base import Optimizer
from ._centralize import Centralize
from ._chain import Chain
from ._clip import Clip, ClipByBlockRMS, ClipByGlobalNorm
from ._constrain import KeepParamsNonnegative
from ._ema import EMA
from ._fromage import Fromage
from ._lamb import LAMB
from ._lars import LARS
from ._lbfgs import LBFGS
from ._lion import Lion
from ._lookahead import Lookahead
from ._madgrad import MADGRAD
from ._mask import Freeze, Masked
from ._master import MasterWeights
from ._multi_steps import MultiSteps
from ._muon import Muon
from ._nadam import NAdam
from ._nadamw import NAdamW
from ._noise import AddNoise
from ._noisy_sgd import NoisySGD
from ._novograd import NovoGrad
from ._optax import OptaxOptimizer, from_optax, to_optax
from ._optimistic_gd import OptimisticGD
from ._partition import Partition
from ._plateau import ReduceLROnPlateau
from ._polyak_sgd import PolyakSGD
from ._prodigy import Prodigy
from ._radam import RAdam
from ._rmsprop import RMSProp
from ._rprop import Rprop
from ._scale import Scale, ScaleByLearningRate
from ._schedule_free import ScheduleFreeAdamW
from ._sgd import SGD
from ._sign_sgd import SignSGD
from ._signum import Signum
from ._skip import SkipLargeUpdates, SkipNonFinite
from ._sm3 import SM3
from ._summary import state_bytes, state_ratio, summary
from ._weight_decay import AddDecayedWeights
from ._yogi import Yogi
from ._zero_nans import ZeroNans

__all__ = [
    "ADOPT",
    "EMA",
    "LAMB",
    "LARS",
    "LBFGS",
    "MADGRAD",
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
    "KeepParamsNonnegative",
    "Lion",
    "Lookahead",
    "Masked",
    "MasterWeights",
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
    "Yogi",
    "ZeroNans",
    "from_optax",
    "state_bytes",
    "state_ratio",
    "summary",
    "to_optax",
]
