/**
 * List prices the fake charges sessions at, in US cents per million tokens. The figures
 * only need to be plausible: tests drive spend through `turn.usage` token counts. A model
 * missing here has no public list price, so the API cannot budget it
 * (`model_not_budgetable`, per the SDK's SessionCreateParams.budget).
 */
export const LIST_PRICES: Readonly<Record<string, { input: number; output: number }>> = {
  'claude-haiku-5-5': { input: 100, output: 500 },
  'claude-sonnet-5-5': { input: 300, output: 1500 },
  'claude-opus-5-5': { input: 1500, output: 7500 },
};

export const listPriceOf = (model: string): { input: number; output: number } | undefined => LIST_PRICES[model];

/** Whole cents, rounded up so the cap fires at or before the charge. */
export const listCostCents = (price: { input: number; output: number }, u: { input_tokens?: number; output_tokens?: number }): number =>
  Math.ceil(((u.input_tokens ?? 0) * price.input + (u.output_tokens ?? 0) * price.output) / 1_000_000);
