// Chinese labels for codes the API sends (mirrors core/analysis_labels.py and core/tickets/models.py).
export const TOPIC_LABELS: Record<string, string> = {
  parking: '停车管理', snow: '除运雪', relocation: '征收动迁', property: '物业环境卫生', heating: '供暖',
  utilities: '水电燃气供应', noise: '噪声扰民', construction: '违法建设', facilities: '市政设施',
  safety: '安全隐患', welfare: '民生保障', other: '其他',
}
export const GRADE_LABELS: Record<string, string> = { I: '特别重大', II: '重大', III: '较大', IV: '一般' }
export const CHANNEL_LABELS: Record<string, string> = {
  weibo: '微博', wechat: '微信公众号', forum: '论坛', board: '留言板', news: '新闻网站', hotline: '热线电话', manual: '人工录入',
}
export const STATE_LABELS: Record<string, string> = {
  triage: '待研判', assigned: '已交办', handling: '处置中', review: '待审核', responded: '已回应', closed: '已办结', dismissed: '误报',
}
export const SENTIMENT_LABELS: Record<string, string> = { negative: '负面', neutral: '中性', positive: '正面' }
export const ALERT_STATUS_LABELS: Record<string, string> = {
  open: '待签收', acknowledged: '已签收', closed: '已关闭', dismissed: '误报',
}
export const RESPONSE_KIND_LABELS: Record<string, string> = { response: '回应', interpretation: '政策解读' }
export const SHIFT_ROLE_LABELS: Record<string, string> = { officer: '值班员', leader: '带班领导' }
export const DEADLINE_STATUS_LABELS: Record<string, string> = {
  pending: '进行中', met: '已按时完成', late: '超期完成', overdue: '已超期', due_soon: '即将到期', paused: '已暂停',
}

export function label(map: Record<string, string>, code: string | null | undefined, empty = '—'): string {
  if (!code) return empty
  return map[code] ?? code
}
export const RESPONSE_CHANNELS: Record<string, string> = {
  weibo: '微博', wechat: '微信', website: '网站', press_conference: '新闻发布会', briefing: '吹风会',
  interview: '媒体采访', policy_doc: '政策解读稿', phone_callback: '电话回访',
  online_interview: '政府网站在线访谈', online_petition: '网络问政',
}
