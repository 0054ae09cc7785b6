"""tfpose Keras layers, shapes `[B, T, J, C]`."""

from tfpose.layers.balanced_coordinates import BalancedCoordinates
from tfpose.layers.dynamic_graph import EdgeWeights
from tfpose.layers.dynamic_spatial_graph_conv import DynamicSpatialGraphConv
from tfpose.layers.dynamic_temporal_graph_conv import DynamicTemporalGraphConv
from tfpose.layers.fixed_spatial_graph_conv import FixedSpatialGraphConv
from tfpose.layers.fixed_temporal_graph_conv import FixedTemporalGraphConv
from tfpose.layers.graph_residual_module import GraphResidualModule
from tfpose.layers.joint_embedding import JointEmbedding
from tfpose.layers.root_relative import RootRelative
from tfpose.layers.spatial_graph_conv import SpatialGraphConv
from tfpose.layers.spatial_non_local import SpatialNonLocal
from tfpose.layers.stgcn_block import STGCNBlock
from tfpose.layers.temporal_conv import TemporalConv
from tfpose.layers.temporal_upsample import TemporalUpsample

__all__ = [
    "BalancedCoordinates", "EdgeWeights", "DynamicSpatialGraphConv", "DynamicTemporalGraphConv",
    "FixedSpatialGraphConv", "FixedTemporalGraphConv", "GraphResidualModule", "JointEmbedding",
    "RootRelative",
    "SpatialGraphConv", "SpatialNonLocal", "STGCNBlock", "TemporalConv", "TemporalUpsample",
]
