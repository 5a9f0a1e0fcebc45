/**
 * CombinedData key 4 `Details` (spec beszel-v0.18.md §3.1): the host facts a v0.18 agent sends once
 * per connection instead of Info 0/1/2/4/11/14. Its table is the core's (ts/hub/model.generated.ts);
 * the JSON names are the Go field names, as the Go struct has no JSON tags.
 */
export type { DetailsJson } from '../../index.js'

/** Where stored details came from: the agent's key 4, or the hub's synthesis from legacy Info (§3.4). */
export type DetailsSource = 'agent' | 'synthesized'
