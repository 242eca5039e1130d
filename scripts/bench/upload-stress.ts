export async function runUploadStress(): Promise<void> {}
