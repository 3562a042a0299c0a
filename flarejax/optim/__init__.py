"""Optimizers: the ``Optimizer`` base class, the built-in optimizers, transforms and interop."""

from ._base import Optimizer
from ._interop._optax import OptaxOptimizer, from_optax, to_optax
from ._interop._summary import state_bytes, state_ratio, summary
from ._optimizers._acprop import ACProp
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
from ._optimizers._asgd import ASGD
from ._optimizers._cocob import COCOB
from ._optimizers._dadapt_adamw import DAdaptAdamW
from ._optimizers._dog import DoG
from ._optimizers._dowg import DoWG
from ._optimizers._dpsgd import DPSGD
from ._optimizers._fromage import Fromage
from ._optimizers._galore import GaLore
from ._optimizers._lamb import LAMB
from ._optimizers._lars import LARS
from ._optimizers._lbfgs import LBFGS
from ._optimizers._lion import Lion
from ._optimizers._madgrad import MADGRAD
from ._optimizers._mars import MARS
from ._optimizers._momo import MoMo, MoMoAdam
from ._optimizers._muon import Muon
from ._optimizers._nadam import NAdam
from ._optimizers._nadamw import NAdamW
from ._optimizers._noisy_sgd import NoisySGD
from ._optimizers._novograd import NovoGrad
from ._optimizers._optimistic_adam import OptimisticAdam
from ._optimizers._optimistic_gd import OptimisticGD
from ._optimizers._polyak_sgd import PolyakSGD
from ._optimizers._prodigy import Prodigy
from ._optimizers._psgd_kron import PSGDKron
from ._optimizers._radam import RAdam
from ._optimizers._rmsprop import RMSProp
from ._optimizers._rprop import Rprop
from ._optimizers._schedule_free import ScheduleFreeAdamW
from ._optimizers._schedule_free_sgd import ScheduleFreeSGD
from ._optimizers._sgd import SGD
from ._optimizers._shampoo import Shampoo
from ._optimizers._sign_sgd import SignSGD
from ._optimizers._signum import Signum
from ._optimizers._simplified_ademamix import SimplifiedAdEMAMix
from ._optimizers._sm3 import SM3
from ._optimizers._soap import SOAP
from ._optimizers._sophia import Sophia
from ._optimizers._yogi import Yogi
from ._transforms._agc import AdaptiveGradClip
from ._transforms._apply_every import ApplyEvery
from ._transforms._centralize import Centralize
from ._transforms._clip import Clip, ClipByBlockRMS, ClipByGlobalNorm
from ._transforms._constrain import KeepParamsNonnegative
from ._transforms._monitor import MeasureWithEMA, Monitor, Snapshot
from ._transforms._noise import AddNoise
from ._transforms._normalize import NormalizeByUpdateNorm
from ._transforms._param_scale import ScaleByParamBlockNorm, ScaleByParamBlockRMS
from ._transforms._per_example import PerExampleGlobalNormClip, PerExampleLayerNormClip
from ._transforms._scale import Scale, ScaleByLearningRate
from ._transforms._trust_ratio import ScaleByTrustRatio
from ._transforms._weight_decay import AddDecayedWeights
from ._transforms._zero_nans import ZeroNans
from ._wrappers._averaged import AveragedModel
from ._wrappers._cautious import Cautious
from ._wrappers._chain import Chain
from ._wrappers._conditional import ConditionallyMask, ConditionallyTransform
from ._wrappers._diagnostics import Diagnostics
from ._wrappers._ema import EMA
from ._wrappers._lookahead import Lookahead
from ._wrappers._mask import Freeze, Masked
from ._wrappers._master import MasterWeights
from ._wrappers._mechanic import Mechanic
from ._wrappers._microbatch import microbatch
from ._wrappers._multi_steps import MultiSteps
from ._wrappers._partition import Partition
from ._wrappers._plateau import ReduceLROnPlateau
from ._wrappers._sam import SAM
from ._wrappers._skip import SkipLargeUpdates, SkipNonFinite
from ._wrappers._stochastic_rounding import StochasticRounding
from ._wrappers._target import IncrementalUpdate, PeriodicUpdate
from ._wrappers._update_bn import update_bn

__all__ = [
    "ADOPT",
    "ASGD",
    "COCOB",
    "DPSGD",
    "EMA",
    "LAMB",
    "LARS",
    "LBFGS",
    "MADGRAD",
    "MARS",
    "SAM",
    "SGD",
    "SM3",
    "SOAP",
    "ACProp",
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
    "ApplyEvery",
    "AveragedModel",
    "Cautious",
    "Centralize",
    "Chain",
    "Clip",
    "ClipByBlockRMS",
    "ClipByGlobalNorm",
    "ConditionallyMask",
    "ConditionallyTransform",
    "DAdaptAdamW",
    "Diagnostics",
    "DoG",
    "DoWG",
    "Freeze",
    "Fromage",
    "GaLore",
    "IncrementalUpdate",
    "KeepParamsNonnegative",
    "Lion",
    "Lookahead",
    "Masked",
    "MasterWeights",
    "MeasureWithEMA",
    "Mechanic",
    "MoMo",
    "MoMoAdam",
    "Monitor",
    "MultiSteps",
    "Muon",
    "NAdam",
    "NAdamW",
    "NoisySGD",
    "NormalizeByUpdateNorm",
    "NovoGrad",
    "OptaxOptimizer",
    "OptimisticAdam",
    "OptimisticGD",
    "Optimizer",
    "PSGDKron",
    "Partition",
    "PerExampleGlobalNormClip",
    "PerExampleLayerNormClip",
    "PeriodicUpdate",
    "PolyakSGD",
    "Prodigy",
    "RAdam",
    "RMSProp",
    "ReduceLROnPlateau",
    "Rprop",
    "Scale",
    "ScaleByLearningRate",
    "ScaleByParamBlockNorm",
    "ScaleByParamBlockRMS",
    "ScaleByTrustRatio",
    "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
    "Shampoo",
    "SignSGD",
    "Signum",
    "SimplifiedAdEMAMix",
    "SkipLargeUpdates",
    "SkipNonFinite",
    "Snapshot",
    "Sophia",
    "StochasticRounding",
    "Yogi",
    "ZeroNans",
    "from_optax",
    "microbatch",
    "state_bytes",
    "state_ratio",
    "summary",
    "to_optax",
    "update_bn",
]
