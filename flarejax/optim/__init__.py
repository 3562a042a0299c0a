"""Optimizers: the ``Optimizer`` base class, the built-in optimizers and transforms."""

from ._adam import Adam
from ._adamw import AdamW
from ._base import Optimizer
from ._master import MasterWeights
from ._sgd import SGD

# -- adaptive (moments) --
from ._adabelief import AdaBelief
from ._adamax import Adamax
from ._adamaxw import AdamaxW
from ._adan import Adan
from ._ademamix import AdEMAMix
from ._adopt import ADOPT
from ._amsgrad import AMSGrad
from ._lamb import LAMB
from ._lion import Lion
from ._nadam import NAdam
from ._nadamw import NAdamW
from ._novograd import NovoGrad
from ._radam import RAdam
from ._yogi import Yogi
# -- adaptive (moments) end --

# -- classic and sign --
from ._adadelta import Adadelta
from ._adafactor import Adafactor
from ._adagrad import Adagrad
from ._fromage import Fromage
from ._lars import LARS
from ._madgrad import MADGRAD
from ._noisy_sgd import NoisySGD
from ._optimistic_gd import OptimisticGD
from ._polyak_sgd import PolyakSGD
from ._prodigy import Prodigy
from ._rmsprop import RMSProp
from ._rprop import Rprop
from ._sign_sgd import SignSGD
from ._signum import Signum
from ._sm3 import SM3
# -- classic and sign end --

# -- second-order and research --
from ._lbfgs import LBFGS
from ._muon import Muon
from ._schedule_free import ScheduleFreeAdamW
# -- second-order and research end --

# -- transforms --
from ._agc import AdaptiveGradClip
from ._centralize import Centralize
from ._chain import Chain
from ._clip import Clip, ClipByBlockRMS, ClipByGlobalNorm
from ._constrain import KeepParamsNonnegative
from ._ema import EMA
from ._lookahead import Lookahead
from ._mask import Freeze, Masked
from ._multi_steps import MultiSteps
from ._noise import AddNoise
from ._partition import Partition
from ._plateau import ReduceLROnPlateau
from ._scale import Scale, ScaleByLearningRate
from ._skip import SkipLargeUpdates, SkipNonFinite
from ._weight_decay import AddDecayedWeights
from ._zero_nans import ZeroNans
# -- transforms end --

# -- interop --
from ._optax import OptaxOptimizer, from_optax, to_optax
# -- interop end --

__all__ = sorted(name for name in dir() if not name.startswith("_"))
