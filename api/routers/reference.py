from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from core.analysis import reference
from core.analysis.reference import GazetteerInfo, TaxonomyInfo

router = APIRouter(tags=["分类与地名"])


@router.get("/api/taxonomy", response_model=TaxonomyInfo)
def taxonomy(_: CurrentUser) -> TaxonomyInfo:
    """话题分类及其规则（关键词、正则、排除词、季节）和敏感词。"""
    return reference.taxonomy()


@router.get("/api/gazetteer", response_model=GazetteerInfo)
def gazetteer(_: CurrentUser) -> GazetteerInfo:
    """辖区地名库（名称、层级、别名）。"""
    return reference.gazetteer()
