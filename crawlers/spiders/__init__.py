"""Spiders, one per source kind; all share crawlers.pipelines.StorePipeline."""
