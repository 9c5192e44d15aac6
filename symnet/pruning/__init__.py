"""Pruning through masks: shapes never change while training."""

from symnet.pruning._masks import apply_masks as apply_masks
from symnet.pruning._masks import count_active as count_active
from symnet.pruning._masks import magnitude_masks as magnitude_masks
from symnet.pruning._masks import map_masks as map_masks
from symnet.pruning._masks import pairs as pairs
from symnet.pruning._masks import prune_population as prune_population
from symnet.pruning._retrain import RULES as RULES
from symnet.pruning._retrain import dead_unit_masks as dead_unit_masks
from symnet.pruning._retrain import prune_and_retrain as prune_and_retrain
from symnet.pruning._saliency import lies_masks as lies_masks
from symnet.pruning._saliency import saliency as saliency
from symnet.pruning._saliency import saliency_masks as saliency_masks
