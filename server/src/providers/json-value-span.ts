/**
 * Where each top-level member's value sits in a JSON object's text, as [start, end) offsets. Alipay
 * signs the exact text of one member's value (`alipay_system_oauth_token_response`), so the
 * verifier must take that substring from the raw body as sent, not re-serialise a parsed value.
 * Only members of the outermost object are found: a key spelled inside a string or a nested
 * object is not a member. The text must be valid JSON (callers JSON.parse it first); a
 * duplicated key answers its first occurrence, which callers refuse (see `duplicated`).
 */
export interface MemberSpans {
  spans: Map<string, { start: number; end: number }>
  /** Keys that occur more than once at the top level. */
  duplicated: Set<string>
}

export function topLevelMemberSpans(text: string): MemberSpans {
  const spans = new Map<string, { start: number; end: number }>()
  const duplicated = new Set<string>()
  let i = skipSpace(text, 0)
  if (text[i] !== '{') throw new SyntaxError('not a JSON object')
  i = skipSpace(text, i + 1)
  if (text[i] === '}') return { spans, duplicated }
  for (;;) {
    if (text[i] !== '"') throw new SyntaxError(`expected a key at ${i}`)
    const keyEnd = endOfString(text, i)
    const key = JSON.parse(text.slice(i, keyEnd)) as string
    i = skipSpace(text, keyEnd)
    if (text[i] !== ':') throw new SyntaxError(`expected ':' at ${i}`)
    const start = skipSpace(text, i + 1)
    const end = endOfValue(text, start)
    if (spans.has(key)) duplicated.add(key)
    else spans.set(key, { start, end })
    i = skipSpace(text, end)
    if (text[i] === ',') {
      i = skipSpace(text, i + 1)
      continue
    }
    if (text[i] === '}') return { spans, duplicated }
    throw new SyntaxError(`expected ',' or '}' at ${i}`)
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++
  return i
}

/** `i` is at an opening quote; answers the offset just past the closing one. */
function endOfString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++
    else if (text[j] === '"') return j + 1
  }
  throw new SyntaxError('unterminated string')
}

/** The offset just past the value starting at `i` (an object, array, string or scalar). */
function endOfValue(text: string, i: number): number {
  const first = text[i]
  if (first === '"') return endOfString(text, i)
  if (first === '{' || first === '[') {
    let depth = 0
    for (let j = i; j < text.length; j++) {
      const c = text[j]
      if (c === '"') j = endOfString(text, j) - 1
      else if (c === '{' || c === '[') depth++
      else if (c === '}' || c === ']') {
        depth--
        if (depth === 0) return j + 1
      }
    }
    throw new SyntaxError('unterminated value')
  }
  let j = i
  while (j < text.length && !/[\s,}\]]/.test(text[j])) j++
  if (j === i) throw new SyntaxError(`expected a value at ${i}`)
  return j
}
