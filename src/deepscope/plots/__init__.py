"""Figures: matplotlib functions that take results and return a Figure (the only drawing code
besides ``report``)."""

from deepscope.plots.augment import augment_figure as augment_figure
from deepscope.plots.augment import augment_text as augment_text
from deepscope.plots.explain import attribution_figure as attribution_figure
from deepscope.plots.explain import audit_figure as audit_figure
from deepscope.plots.explain import faithfulness_figure as faithfulness_figure
from deepscope.plots.explain import highlighted_text_html as highlighted_text_html
from deepscope.plots.explain import reliability_figure as reliability_figure
from deepscope.plots.explain import series_predictions_figure as series_predictions_figure
from deepscope.plots.explain import text_tokens as text_tokens
from deepscope.plots.explain import top_losses_figure as top_losses_figure
from deepscope.plots.generative import image_grid_figure as image_grid_figure
from deepscope.plots.generative import latent_map_figure as latent_map_figure
from deepscope.plots.generative import panel_figure as panel_figure
from deepscope.plots.inspect import embedding_figure as embedding_figure
from deepscope.plots.inspect import feature_maps_figure as feature_maps_figure
from deepscope.plots.inspect import filters_figure as filters_figure
from deepscope.plots.inspect import maximized_figure as maximized_figure
from deepscope.plots.inspect import top_patches_figure as top_patches_figure
from deepscope.plots.mechanics import MAX_CELLS_WITH_NUMBERS as MAX_CELLS_WITH_NUMBERS
from deepscope.plots.mechanics import conv_pipeline_figure as conv_pipeline_figure
from deepscope.plots.mechanics import conv_steps_frames as conv_steps_frames
from deepscope.plots.mechanics import kernel_stack_figure as kernel_stack_figure
from deepscope.plots.mechanics import save_gif as save_gif
from deepscope.plots.mechanics import shift_invariance_figure as shift_invariance_figure
from deepscope.plots.mechanics import write_conv_figures as write_conv_figures
from deepscope.plots.raster import attribution_pixels as attribution_pixels
from deepscope.plots.raster import colorize as colorize
from deepscope.plots.raster import feature_map_pixels as feature_map_pixels
from deepscope.plots.raster import figure_data_uri as figure_data_uri
from deepscope.plots.raster import figure_png as figure_png
from deepscope.plots.raster import png_data_uri as png_data_uri
from deepscope.plots.regression import forecast_figure as forecast_figure
from deepscope.plots.regression import next_frames_figure as next_frames_figure
from deepscope.plots.training import compare_figure as compare_figure
from deepscope.plots.training import confusion_matrix_figure as confusion_matrix_figure
from deepscope.plots.training import learning_curve_figure as learning_curve_figure
from deepscope.plots.training import learning_curves as learning_curves
from deepscope.plots.training import lr_find_figure as lr_find_figure
from deepscope.plots.training import new_figure as new_figure
from deepscope.plots.training import prediction_grid as prediction_grid
from deepscope.plots.training import prediction_order as prediction_order
from deepscope.plots.training import save_figure as save_figure
from deepscope.plots.words import word_map_figure as word_map_figure

__all__ = [
    "augment_figure",
    "augment_text",
    "compare_figure",
    "learning_curve_figure",
    "lr_find_figure",
    "attribution_figure",
    "audit_figure",
    "faithfulness_figure",
    "highlighted_text_html",
    "reliability_figure",
    "series_predictions_figure",
    "text_tokens",
    "top_losses_figure",
    "embedding_figure",
    "image_grid_figure",
    "latent_map_figure",
    "panel_figure",
    "feature_maps_figure",
    "filters_figure",
    "maximized_figure",
    "top_patches_figure",
    "MAX_CELLS_WITH_NUMBERS",
    "conv_pipeline_figure",
    "conv_steps_frames",
    "kernel_stack_figure",
    "save_gif",
    "write_conv_figures",
    "shift_invariance_figure",
    "attribution_pixels",
    "colorize",
    "feature_map_pixels",
    "figure_data_uri",
    "figure_png",
    "png_data_uri",
    "forecast_figure",
    "next_frames_figure",
    "confusion_matrix_figure",
    "learning_curves",
    "new_figure",
    "prediction_grid",
    "prediction_order",
    "save_figure",
    "word_map_figure",
]
