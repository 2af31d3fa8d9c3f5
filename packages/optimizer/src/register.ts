import * as tf from '@tensorflow/tfjs-core';
import { MomentumSGD } from './momentum-sgd';
import { ScaleAmendedSGD } from './scale-amended-sgd';

// Side effect on import (listed in package.json "sideEffects"): lets tf.LayersModel save and load
// models compiled with these optimizers by class name.
tf.serialization.registerClass(ScaleAmendedSGD);
tf.serialization.registerClass(MomentumSGD);
