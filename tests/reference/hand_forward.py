"""Independent forward values for tests/double/test_cells.c (forward.*_by_hand).

Written from the equations of cells.md with numpy, sharing no code with the C
cells. Run: /usr/bin/python3 tests/reference/hand_forward.py
Every parameter k of the cell, in tensor order, is 0.1 * ((7k mod 11) - 5);
x = 1, -0.5, 0.25 (one input); h_0 = c_0 = 0; prints h_1..h_3 of 2 units.
"""
import numpy as np
def fill(n): return np.array([0.1*(((k*7)%11)-5) for k in range(n)])
sig=lambda a:1/(1+np.exp(-a))
x=[1.0,-0.5,0.25]; H=2; X=1
def rnn():
    p=fill(H*X+H*H+H); W=p[0:2].reshape(2,1); R=p[2:6].reshape(2,2); b=p[6:8]
    h=np.zeros(2); out=[]
    for xt in x: h=np.tanh(W@[xt]+R@h+b); out.append(h)
    return out
def lstm_peep():
    n=8+16+8+6; p=fill(n); W=p[0:8].reshape(8,1); R=p[8:24].reshape(8,2); b=p[24:32]; pi,pf,po=p[32:34],p[34:36],p[36:38]
    h=np.zeros(2); c=np.zeros(2); out=[]
    for xt in x:
        a=W@[xt]+R@h+b
        i=sig(a[0:2]+pi*c); f=sig(a[2:4]+pf*c); z=np.tanh(a[4:6])
        c=i*z+f*c; o=sig(a[6:8]+po*c); h=o*np.tanh(c); out.append(h)
    return out
def gru(ra):
    n=6+12+6+(2 if ra else 0); p=fill(n); W=p[0:6].reshape(6,1); R=p[6:18].reshape(6,2); b=p[18:24]; brn=p[24:26] if ra else None
    h=np.zeros(2); out=[]
    for xt in x:
        ax=W@[xt]+b
        r=sig(ax[0:2]+R[0:2]@h); u=sig(ax[2:4]+R[2:4]@h)
        if ra: n_=np.tanh(ax[4:6]+r*(R[4:6]@h+brn))
        else: n_=np.tanh(ax[4:6]+R[4:6]@(r*h))
        h=(1-u)*n_+u*h; out.append(h)
    return out
for name,f in [("rnn",rnn),("lstm-peep",lstm_peep),("gru",lambda:gru(False)),("gru-ra",lambda:gru(True))]:
    o=f(); print(name, ", ".join("%.15f"%v for h in o for v in h))
