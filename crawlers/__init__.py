"""Scrapy project that fills the Mention table from monitoring sources.

spiders/ (one per Source.kind) -> items.MentionItem -> pipelines.StorePipeline -> core.
Start crawls with crawlers.run (run_crawl in-process, run_crawl_subprocess from workers).
"""
