"""LTX-Video (Lightricks; LTXV Open Weights License), through diffusers' LTXConditionPipeline."""
