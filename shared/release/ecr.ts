/**
 * Whether an image is still in its ECR repository (a promotion checks it before releasing:
 * `imagesToKeep` expires old images). One DescribeImages call on the app's repository.
 */
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ecrRepositoryName } from '../naming.ts';

/** The tag or digest of an image reference `<registry>/<repository>[:tag][@sha256:…]` (no tag: `latest`). */
export function imageIdOf(image: string): { imageTag: string } | { imageDigest: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { imageDigest: image.slice(at + 1) };
  const path = image.slice(image.indexOf('/') + 1);
  const colon = path.lastIndexOf(':');
  return { imageTag: colon >= 0 ? path.slice(colon + 1) : 'latest' };
}

/** True when the app's repository holds `image`; false when ECR answers that it does not (ImageNotFoundException). */
export async function imageInRepository(app: string, image: string, ecr: ECRClient): Promise<boolean> {
  try {
    const { imageDetails } = await ecr.send(
      new DescribeImagesCommand({ repositoryName: ecrRepositoryName(app), imageIds: [imageIdOf(image)] }),
    );
    return (imageDetails ?? []).length > 0;
  } catch (error) {
    if ((error as Error).name === 'ImageNotFoundException') return false;
    throw error;
  }
}
