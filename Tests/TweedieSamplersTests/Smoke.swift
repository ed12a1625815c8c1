import XCTest
import TweedieSamplers
