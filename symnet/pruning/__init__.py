"""Pruning through masks: shapes never change while training."""

from symnet.pruning._masks import apply_masks as apply_masks
from symnet.pruning._masks import count_active as count_active
from symnet.pruning._masks import magnitude_masks as magnitude_masks
from symnet.pruning._masks import map_masks as map_masks
from symnet.pruning._masks import pairs as pairs
