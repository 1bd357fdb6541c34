/** Mean and sample standard deviation (n - 1); std 0 for one value, NaN for none. */
export function meanStd(values: number[]): { mean: number; std: number } {
  if (!values.length) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: 0 };
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}
