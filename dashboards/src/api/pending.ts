// HAND-TYPED answers the API does not describe in openapi.json yet.
// Switch each to generated types (Schemas[...]) once the API declares a response_model for it.

/** POST /api/intake/import → core/intake/service.py ImportReport.to_dict() (no response_model yet) */
export interface ImportReport {
  rows: number
  accepted: number
  duplicates: number
  rejected_count: number
  columns: Record<string, string>
  rejected: { row: number; reason: string }[]
}
