"""Topic labels needed by reports and pages without loading the analysis stack (jieba, sklearn)."""

TOPIC_LABELS: dict[str, str] = {
    "parking": "停车管理",
    "snow": "除运雪",
    "relocation": "征收动迁",
    "property": "物业环境卫生",
    "heating": "供暖",
    "utilities": "水电燃气供应",
    "noise": "噪声扰民",
    "construction": "违法建设",
    "facilities": "市政设施",
    "safety": "安全隐患",
    "welfare": "民生保障",
    "other": "其他",
}
GRADE_LABELS: dict[str, str] = {"I": "特别重大", "II": "重大", "III": "较大", "IV": "一般"}
CHANNEL_LABELS: dict[str, str] = {
    "weibo": "微博", "wechat": "微信公众号", "forum": "论坛", "board": "留言板",
    "news": "新闻网站", "hotline": "热线电话", "manual": "人工录入",
}
SOURCE_HEALTH_LABELS: dict[str, str] = {
    "unknown": "未采集", "ok": "正常", "error": "采集出错", "blocked": "被封禁/拒绝访问",
    "login_expired": "登录失效", "silent": "长时间无新内容", "captcha": "需要验证码",
}
