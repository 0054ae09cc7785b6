"""tfpose Keras layers, shapes `[B, T, J, C]`."""

from tfpose.layers.spatial_graph_conv import SpatialGraphConv
from tfpose.layers.stgcn_block import STGCNBlock
from tfpose.layers.temporal_upsample import TemporalUpsample

__all__ = ["SpatialGraphConv", "STGCNBlock", "TemporalUpsample"]
