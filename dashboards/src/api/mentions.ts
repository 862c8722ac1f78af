// 信息检索: keyset-paged search over all mentions, and the topic re-label (feeds `classify train`).
import { client, unwrap, type Schemas } from './client'
import type { paths } from './schema'

export type MentionItem = Schemas['MentionListItem']
export type MentionPage = Schemas['MentionPage']
export type Mention = Schemas['MentionPublic']

/** The search filters, as the API declares them (cursor and limit are passed separately). */
export type MentionQuery = Omit<NonNullable<paths['/api/mentions/search']['get']['parameters']['query']>, 'cursor' | 'limit'>

/** Newest first; pass the previous page's next_cursor to go deeper (fast at any depth). */
export function searchMentions(query: MentionQuery, cursor: string | null, limit: number, signal?: AbortSignal): Promise<MentionPage> {
  return unwrap(client.GET('/api/mentions/search', {
    params: { query: { ...query, cursor: cursor ?? undefined, limit } },
    signal,
  }))
}

/** 改正话题 / 标为无关 (topic "other"). */
export function labelMention(id: number, topic: string): Promise<Mention> {
  return unwrap(client.POST('/api/mentions/{mention_id}/label', { params: { path: { mention_id: id } }, body: { topic } }))
}
